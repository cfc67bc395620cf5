/**
 * {@code lorafleet merge}: folds a LoRA adapter into its base model's weights and writes a Hugging
 * Face model directory that loads where no LoRA support exists.
 */
package dev.lorafleet.coordinator.merge;
