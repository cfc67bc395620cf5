package dev.lorafleet.coordinator.job;

import dev.lorafleet.worker.cluster.JobCompute;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault injection for tests only: the quadratic stand-in whose first {@code failSteps} step shares
 * crash as model code would (an exception out of the forward pass), and whose first {@code
 * failOpens} job preparations fail as a node would (a full cache disk).
 */
public final class FaultyCompute implements JobCompute {
  /**
   * A slow device: every share takes {@code everyShareMs} longer, and share number {@code
   * slowShare} (from 1) first creates {@code marker} and then takes {@code slowShareMs} longer.
   */
  public record Delays(long everyShareMs, int slowShare, long slowShareMs, Path marker) {
    static final Delays NONE = new Delays(0, -1, 0, null);
  }

  private final JobCompute inner;
  private final AtomicInteger stepFailuresLeft;
  private final Delays delays;
  private final AtomicInteger shares;

  private FaultyCompute(
      JobCompute inner, AtomicInteger stepFailuresLeft, Delays delays, AtomicInteger shares) {
    this.inner = inner;
    this.stepFailuresLeft = stepFailuresLeft;
    this.delays = delays;
    this.shares = shares;
  }

  /** One worker's compute factory; the counts are over the worker's life, across jobs. */
  public static JobComputeFactory factory(String workerId, int failSteps, int failOpens) {
    return factory(workerId, failSteps, failOpens, Delays.NONE);
  }

  /** The same, on a slow device. */
  public static JobComputeFactory factory(
      String workerId, int failSteps, int failOpens, Delays delays) {
    AtomicInteger steps = new AtomicInteger(failSteps);
    AtomicInteger opens = new AtomicInteger(failOpens);
    AtomicInteger shares = new AtomicInteger();
    JobComputeFactory quadratic = TestingQuadraticCompute.factory();
    return (spec, model, train, eval, devices) -> {
      if (opens.getAndDecrement() > 0) {
        throw new java.io.IOException(
            "no space left on device while caching the datasets on " + workerId);
      }
      return new FaultyCompute(
          quadratic.open(spec, model, train, eval, devices), steps, delays, shares);
    };
  }

  @Override
  public Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed)
      throws Exception {
    int share = shares.incrementAndGet();
    if (share == delays.slowShare()) {
      java.nio.file.Files.writeString(delays.marker(), Integer.toString(share));
      Thread.sleep(delays.slowShareMs());
    }
    if (delays.everyShareMs() > 0) {
      Thread.sleep(delays.everyShareMs());
    }
    if (stepFailuresLeft.getAndDecrement() > 0) {
      throw new IllegalStateException("injected crash in the model's forward pass");
    }
    return inner.gradients(adapter, exampleIndices, stepSeed);
  }

  @Override
  public int[] trainExampleCounts() {
    return inner.trainExampleCounts();
  }

  @Override
  public int[] evalExampleCounts() {
    return inner.evalExampleCounts();
  }

  @Override
  public int adapterLength() {
    return inner.adapterLength();
  }

  @Override
  public String modelConfigJson() {
    return inner.modelConfigJson();
  }

  @Override
  public float[] initialAdapter(long seed) {
    return inner.initialAdapter(seed);
  }

  @Override
  public EvalLoss evaluate(float[] adapter, int evalIndex, int[] exampleIndices) throws Exception {
    return inner.evaluate(adapter, evalIndex, exampleIndices);
  }

  @Override
  public void close() {
    inner.close();
  }
}
