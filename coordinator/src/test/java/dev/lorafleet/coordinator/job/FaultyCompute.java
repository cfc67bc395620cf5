package dev.lorafleet.coordinator.job;

import dev.lorafleet.worker.cluster.JobCompute;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault injection for tests only: the quadratic stand-in whose first {@code failSteps} step shares
 * crash as model code would (an exception out of the forward pass), and whose first {@code
 * failOpens} job preparations fail as a node would (a full cache disk).
 */
public final class FaultyCompute implements JobCompute {
  private final JobCompute inner;
  private final AtomicInteger stepFailuresLeft;

  private FaultyCompute(JobCompute inner, AtomicInteger stepFailuresLeft) {
    this.inner = inner;
    this.stepFailuresLeft = stepFailuresLeft;
  }

  /** One worker's compute factory; the counts are over the worker's life, across jobs. */
  public static JobComputeFactory factory(String workerId, int failSteps, int failOpens) {
    AtomicInteger steps = new AtomicInteger(failSteps);
    AtomicInteger opens = new AtomicInteger(failOpens);
    JobComputeFactory quadratic = TestingQuadraticCompute.factory();
    return (spec, model, train, eval, devices) -> {
      if (opens.getAndDecrement() > 0) {
        throw new java.io.IOException(
            "no space left on device while caching the datasets on " + workerId);
      }
      return new FaultyCompute(quadratic.open(spec, model, train, eval, devices), steps);
    };
  }

  @Override
  public Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed)
      throws Exception {
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
