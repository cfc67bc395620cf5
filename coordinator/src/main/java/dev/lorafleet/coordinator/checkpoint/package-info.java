/**
 * Atomic adapter checkpoints: PEFT adapter, optimizer moments and {@code trainer_state.json},
 * written to a temporary directory, fsynced and renamed, keeping the last few. Plain file I/O that
 * the job runner calls on its blocking executor.
 */
package dev.lorafleet.coordinator.checkpoint;
