/** LoRA configuration and the adapter layout: the one flat vector every adapter tensor lives in. */
package dev.lorafleet.common.lora;
