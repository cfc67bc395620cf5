package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.transport.ReducedGradient;
import dev.lorafleet.coordinator.job.GradientExchange;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/** The job runner's {@link GradientExchange} over the Aeron {@link CoordinatorDataPlane}. */
public final class DataPlaneExchange implements GradientExchange, AutoCloseable {
  private final CoordinatorDataPlane plane;

  public DataPlaneExchange(CoordinatorDataPlane plane) {
    this.plane = plane;
  }

  @Override
  public String endpoints() {
    return plane.endpoints().encode();
  }

  @Override
  public CompletableFuture<Gathered> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline) {
    return plane
        .gather(jobId, step, round, workerIds, length, deadline)
        .thenApply(
            result -> {
              if (result instanceof GatherResult.Complete complete) {
                ReducedGradient g = complete.gradient();
                return new Gathered.Complete(g.sum(), g.tokenCount(), g.lossSum());
              }
              GatherResult.TimedOut timedOut = (GatherResult.TimedOut) result;
              return new Gathered.Incomplete(timedOut.incomplete(), timedOut.silent());
            });
  }

  @Override
  public CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters) {
    return plane.broadcast(jobId, step, parameters);
  }

  @Override
  public void recycle(String jobId, float[] sum) {
    plane.recycle(jobId, sum);
  }

  @Override
  public void endJob(String jobId) {
    plane.endJob(jobId);
  }

  @Override
  public void close() {
    plane.close();
  }
}
