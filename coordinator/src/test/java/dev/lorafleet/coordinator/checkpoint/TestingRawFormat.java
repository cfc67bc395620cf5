package dev.lorafleet.coordinator.checkpoint;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes the three vectors as raw big-endian floats; can be told to fail half way. */
public final class TestingRawFormat implements CheckpointFormat {
  boolean failAfterFirstFile;
  private final java.util.concurrent.atomic.AtomicInteger failingWrites =
      new java.util.concurrent.atomic.AtomicInteger();

  /** The next {@code n} writes fail half way, as on a full disk. */
  public void failNextWrites(int n) {
    failingWrites.set(n);
  }

  @Override
  public void write(Path dir, float[] params, float[] expAvg, float[] expAvgSq) throws IOException {
    writeVector(dir.resolve("params.bin"), params);
    if (failAfterFirstFile || failingWrites.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new IOException("disk full (simulated)");
    }
    writeVector(dir.resolve("exp_avg.bin"), expAvg);
    writeVector(dir.resolve("exp_avg_sq.bin"), expAvgSq);
  }

  @Override
  public float[][] read(Path dir) throws IOException {
    return new float[][] {
      readVector(dir.resolve("params.bin")),
      readVector(dir.resolve("exp_avg.bin")),
      readVector(dir.resolve("exp_avg_sq.bin"))
    };
  }

  private static void writeVector(Path file, float[] values) throws IOException {
    try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
      out.writeInt(values.length);
      for (float v : values) {
        out.writeFloat(v);
      }
    }
  }

  private static float[] readVector(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
      float[] values = new float[in.readInt()];
      for (int i = 0; i < values.length; i++) {
        values[i] = in.readFloat();
      }
      return values;
    }
  }
}
