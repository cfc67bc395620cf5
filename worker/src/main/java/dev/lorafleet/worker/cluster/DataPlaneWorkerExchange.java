package dev.lorafleet.worker.cluster;

import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.transport.DataPlaneEndpoints;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.worker.transport.WorkerDataPlane;
import java.time.Duration;

/** The worker actor's {@link WorkerExchange} over the Aeron {@link WorkerDataPlane}. */
public final class DataPlaneWorkerExchange implements WorkerExchange {
  private final WorkerDataPlane plane;

  private DataPlaneWorkerExchange(WorkerDataPlane plane) {
    this.plane = plane;
  }

  /** Connects with the data plane bound to {@code host} (the address the coordinator reaches). */
  public static Factory factory(String host) {
    return (endpoints, workerId) ->
        new DataPlaneWorkerExchange(
            WorkerDataPlane.connect(
                DataPlaneEndpoints.parse(endpoints),
                workerId,
                DataPlaneConfig.defaults().withHost(host)));
  }

  @Override
  public float[] awaitParameters(String jobId, long step, Duration timeout) {
    return plane.awaitParameters(jobId, step, timeout).values().clone();
  }

  @Override
  public void sendGradient(
      String jobId, long step, int round, float[] sum, long tokens, double lossSum) {
    plane.sendGradient(jobId, step, round, sum, tokens, lossSum, WireDtype.FP32);
  }

  /** The data plane's running totals, for the worker's metrics (cheap; read at every scrape). */
  public DataPlaneCounters counters() {
    return plane.counters();
  }

  @Override
  public void close() {
    plane.close();
  }
}
