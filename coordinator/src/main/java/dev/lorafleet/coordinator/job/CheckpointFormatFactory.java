package dev.lorafleet.coordinator.job;

import dev.lorafleet.coordinator.checkpoint.CheckpointFormat;

/**
 * Makes the checkpoint format of a job once the workers told the coordinator the model's {@code
 * config.json} (the PEFT layout needs it).
 */
@FunctionalInterface
public interface CheckpointFormatFactory {
  CheckpointFormat create(JobSettings settings, String modelConfigJson, int adapterLength);
}
