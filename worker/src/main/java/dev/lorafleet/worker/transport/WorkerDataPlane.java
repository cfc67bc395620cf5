package dev.lorafleet.worker.transport;

import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.transport.DataPlaneEndpoints;
import dev.lorafleet.common.transport.DataPlaneException;
import dev.lorafleet.common.wire.WireDtype;
import java.time.Duration;
import java.util.Optional;

/**
 * A worker's side of the data plane: sends this node's gradient sum for a step to the coordinator
 * and receives the adapter parameters the coordinator broadcasts.
 *
 * <pre>{@code
 * try (WorkerDataPlane dataPlane = WorkerDataPlane.connect(
 *     DataPlaneEndpoints.parse(advertised), "gpu-node-3", DataPlaneConfig.defaults().withHost(myIp))) {
 *   AdapterParameters params = dataPlane.awaitParameters(jobId, step, Duration.ofMinutes(5));
 *   ... train the step's share ...
 *   dataPlane.sendGradient(jobId, step, gradientSum, tokens, lossSum, WireDtype.FP32);
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread (the training loop) calls it. Nothing runs in the background
 * except the embedded media driver (UDP) — parameters are read while {@code awaitParameters} or
 * {@code pollParameters} runs, and Aeron's flow control holds the coordinator back meanwhile.
 */
public final class WorkerDataPlane implements AutoCloseable {

  private WorkerDataPlane() {}

  /**
   * Starts an embedded media driver (UDP; its own directory, deleted on close) or attaches to the
   * coordinator's (IPC), opens the gradient publication to the coordinator and subscribes to the
   * parameter broadcast. Returns without waiting for the coordinator; sends wait for it.
   *
   * @param workerId this node's id as the coordinator knows it (the one passed to {@code gather})
   * @param config {@code host} is the address the coordinator can reach this worker at; ports are
   *     the coordinator's and not used here
   */
  public static WorkerDataPlane connect(
      DataPlaneEndpoints coordinator, String workerId, DataPlaneConfig config) {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }

  /** {@code sendGradient} for round 0. */
  public void sendGradient(
      String jobId, long step, float[] sum, long tokenCount, double lossSum, WireDtype dtype) {
    sendGradient(jobId, step, 0, sum, tokenCount, lossSum, dtype);
  }

  /**
   * Sends this node's gradient sum for a step (all of {@code sum}, in chunks), blocking until every
   * chunk is handed to Aeron. Back pressure and a not-yet-connected coordinator are waited out with
   * an idle strategy up to {@link DataPlaneConfig#sendTimeout()}; a publication that closed or
   * reached its maximum position is replaced and the vector sent again from its start (the
   * coordinator drops what it already has).
   *
   * @throws DataPlaneException when the deadline passes; the message names job, step and endpoint
   */
  public void sendGradient(
      String jobId,
      long step,
      int round,
      float[] sum,
      long tokenCount,
      double lossSum,
      WireDtype dtype) {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }

  /**
   * Returns the job's parameters of version {@code minStep} or newer, reading the broadcast until
   * they are complete. If this worker has none that new yet it asks the coordinator to send its
   * current version again (a late joiner gets the current parameters this way).
   *
   * @throws DataPlaneException when {@code timeout} passes first
   */
  public AdapterParameters awaitParameters(String jobId, long minStep, Duration timeout) {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }

  /** Reads what has arrived without waiting; the newest complete version of the job, if any. */
  public Optional<AdapterParameters> pollParameters(String jobId) {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }

  /** Totals since {@link #connect}, for metrics. */
  public DataPlaneCounters counters() {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }

  /** Closes the channels and the embedded media driver, and deletes its directory. */
  @Override
  public void close() {
    throw new UnsupportedOperationException("WorkerDataPlane is being built (issue #3)");
  }
}
