package dev.lorafleet.coordinator.job;

import dev.lorafleet.worker.cluster.JobCompute;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A stand-in for the trainer with a known answer: example {@code i} pulls the 4-value adapter
 * towards its own target with a quadratic loss (weighted by its "token" count), so gradients are
 * exact, training lowers the loss, and the sum over any split of a batch is the same.
 */
public final class TestingQuadraticCompute implements JobCompute {
  public static final int LENGTH = 4;

  private final int[] trainCounts;
  private final int[] evalCounts;
  private boolean poisoned; // every gradient NaN: a model that diverged
  private long stepMillis; // stands in for a real model's compute time

  TestingQuadraticCompute(int[] trainCounts, int[] evalCounts) {
    this.trainCounts = trainCounts;
    this.evalCounts = evalCounts;
  }

  /** Counts the lines of the (downloaded) datasets, so the transfer is part of the test. */
  public static JobComputeFactory factory() {
    return (spec, model, train, eval, devices) -> {
      if (model.toString().equals("/missing")) {
        throw new IOException("base model not found at /missing/config.json");
      }
      TestingQuadraticCompute compute = new TestingQuadraticCompute(lines(train), lines(eval));
      compute.poisoned = model.toString().equals("/poisoned");
      // a model directory with a step-millis file makes every share take that long, so fault
      // tests can act while a job is still running however fast the machine is
      Path slow = model.resolve("step-millis");
      if (Files.isRegularFile(slow)) {
        compute.stepMillis = Long.parseLong(Files.readString(slow).trim());
      }
      return compute;
    };
  }

  private static int[] lines(List<Path> files) throws IOException {
    List<Integer> counts = new ArrayList<>();
    for (Path f : files) {
      counts.add((int) Files.readAllLines(f).stream().filter(l -> !l.isBlank()).count());
    }
    return counts.stream().mapToInt(Integer::intValue).toArray();
  }

  static float[] target(int example) {
    return new float[] {
      (float) Math.sin(example), (float) Math.cos(example), (example % 3) - 1f, 0.5f
    };
  }

  static int tokens(int example) {
    return 1 + example % 3;
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
    return "{}";
  }

  @Override
  public float[] initialAdapter(long seed) {
    return new float[] {2f, -2f, 2f, -2f};
  }

  @Override
  public Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed) {
    if (stepMillis > 0) {
      try {
        Thread.sleep(stepMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    float[] sum = new float[LENGTH];
    long tokens = 0;
    double loss = 0;
    for (int example : exampleIndices) {
      float[] t = target(example);
      int n = tokens(example);
      for (int k = 0; k < LENGTH; k++) {
        float d = adapter[k] - t[k];
        sum[k] += n * d;
        loss += n * 0.5 * d * d;
      }
      tokens += n;
    }
    if (poisoned) {
      java.util.Arrays.fill(sum, Float.NaN);
    }
    return new Gradients(sum, tokens, loss, exampleIndices.length);
  }

  @Override
  public EvalLoss evaluate(float[] adapter, int evalIndex, int[] exampleIndices) {
    Gradients g = gradients(adapter, exampleIndices, 0);
    return new EvalLoss(g.lossSum(), g.tokens(), g.examples());
  }

  @Override
  public void close() {}
}
