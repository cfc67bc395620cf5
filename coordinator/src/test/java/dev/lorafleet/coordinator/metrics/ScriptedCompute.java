package dev.lorafleet.coordinator.metrics;

import dev.lorafleet.worker.cluster.JobCompute;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A stand-in trainer for metrics tests: example {@code i} pulls an 8-value adapter towards its own
 * target with a quadratic loss, so the loss falls as a real one would; {@link #stall()} makes every
 * following share hang (as on a wedged GPU) until {@link #release()}.
 */
final class ScriptedCompute implements JobCompute {
  private static final int LENGTH = 8;
  private static final int TOKENS_PER_EXAMPLE = 3;

  private final int[] trainCounts;
  private final int[] evalCounts;
  private final Gate gate;

  /** Shared by the factory and every compute it opens. */
  static final class Gate {
    private final AtomicBoolean stalled = new AtomicBoolean();
    private final CountDownLatch released = new CountDownLatch(1);

    void stall() {
      stalled.set(true);
    }

    void release() {
      released.countDown();
    }

    void passOrWait() throws InterruptedException {
      if (stalled.get()) {
        released.await(2, TimeUnit.MINUTES);
      }
    }
  }

  private ScriptedCompute(int[] trainCounts, int[] evalCounts, Gate gate) {
    this.trainCounts = trainCounts;
    this.evalCounts = evalCounts;
    this.gate = gate;
  }

  static JobComputeFactory factory(Gate gate) {
    return (spec, model, train, eval, devices) ->
        new ScriptedCompute(lines(train), lines(eval), gate);
  }

  private static int[] lines(List<Path> files) {
    return files.stream()
        .mapToInt(
            f -> {
              try {
                return (int) Files.readAllLines(f).stream().filter(l -> !l.isBlank()).count();
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            })
        .toArray();
  }

  private static float target(int example, int k) {
    return (float) Math.sin(example * 0.7 + k);
  }

  @Override
  public int[] trainExampleCounts() {
    return trainCounts.clone();
  }

  @Override
  public int[] evalExampleCounts() {
    return evalCounts.clone();
  }

  @Override
  public int adapterLength() {
    return LENGTH;
  }

  @Override
  public String modelConfigJson() {
    return "{\"architectures\":[\"LlamaForCausalLM\"]}";
  }

  @Override
  public float[] initialAdapter(long seed) {
    float[] a = new float[LENGTH];
    for (int k = 0; k < LENGTH; k++) {
      a[k] = 2f;
    }
    return a;
  }

  @Override
  public Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed)
      throws InterruptedException {
    gate.passOrWait();
    float[] sum = new float[LENGTH];
    double loss = 0;
    for (int i : exampleIndices) {
      for (int k = 0; k < LENGTH; k++) {
        double d = adapter[k] - target(i, k);
        sum[k] += (float) (d * TOKENS_PER_EXAMPLE);
        loss += 0.5 * d * d * TOKENS_PER_EXAMPLE;
      }
    }
    return new Gradients(
        sum, (long) exampleIndices.length * TOKENS_PER_EXAMPLE, loss, exampleIndices.length);
  }

  @Override
  public EvalLoss evaluate(float[] adapter, int evalIndex, int[] exampleIndices) {
    double loss = 0;
    for (int i : exampleIndices) {
      for (int k = 0; k < LENGTH; k++) {
        double d = adapter[k] - target(i + 1000, k);
        loss += 0.5 * d * d * TOKENS_PER_EXAMPLE;
      }
    }
    return new EvalLoss(
        loss, (long) exampleIndices.length * TOKENS_PER_EXAMPLE, exampleIndices.length);
  }

  @Override
  public void close() {
    // nothing held
  }
}
