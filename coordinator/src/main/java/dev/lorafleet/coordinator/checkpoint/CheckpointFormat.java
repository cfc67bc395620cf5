package dev.lorafleet.coordinator.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How the adapter and optimizer vectors become files in a checkpoint directory (the PEFT
 * safetensors layout in production). The checkpointer owns atomicity and retention; this only
 * writes and reads the payload files it is given a directory for.
 */
public interface CheckpointFormat {
  /** Writes the adapter (PEFT files) and the optimizer moments into {@code dir}. */
  void write(Path dir, float[] params, float[] expAvg, float[] expAvgSq) throws IOException;

  /** Reads what {@link #write} wrote: params, expAvg, expAvgSq. */
  float[][] read(Path dir) throws IOException;
}
