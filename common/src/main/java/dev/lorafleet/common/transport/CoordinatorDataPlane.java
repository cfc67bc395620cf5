package dev.lorafleet.common.transport;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator's side of the data plane: gathers the summed adapter gradient of every worker
 * each step and broadcasts the new adapter parameters. Gradients and parameters travel over Aeron
 * (UDP between machines, IPC on one machine), never over the Pekko control plane.
 *
 * <p>Usage, from the job's actor:
 *
 * <pre>{@code
 * CoordinatorDataPlane dataPlane = CoordinatorDataPlane.open(DataPlaneConfig.defaults().withHost(host));
 * String endpoints = dataPlane.endpoints().encode();      // send to workers when they join
 * // each step: first gather, THEN tell the workers to compute (so no frame arrives unexpected)
 * CompletableFuture<GatherResult> f = dataPlane.gather(jobId, step, workerIds, layoutLength, deadline);
 * context.pipeToSelf(f, (result, error) -> new GradientsGathered(result, error));
 * ... optimizer step ...
 * dataPlane.broadcast(jobId, step + 1, parameters);      // copies them; every worker receives them
 * }</pre>
 *
 * <p>All methods are thread-safe and never block on the network: they hand a command to the
 * data-plane agent's thread and return a future. Futures complete on that thread; attach callbacks
 * that return quickly (Pekko's {@code pipeToSelf} does).
 */
public final class CoordinatorDataPlane implements AutoCloseable {

  private CoordinatorDataPlane() {}

  /**
   * Starts this process's embedded media driver (its own directory under {@link
   * DataPlaneConfig#driverDirectoryParent()}, deleted on {@link #close()}), the gradient
   * subscription and the parameter publication, and the agent thread.
   *
   * @throws DataPlaneException when the driver or a channel cannot start (port taken, directory not
   *     writable); the message names the port or path
   */
  public static CoordinatorDataPlane open(DataPlaneConfig config) {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /** What workers need to reach this data plane; advertise {@code endpoints().encode()}. */
  public DataPlaneEndpoints endpoints() {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /**
   * Starts gathering round 0 of a step. Same as {@code gather(jobId, step, 0, workerIds, length,
   * deadline)}.
   */
  public CompletableFuture<GatherResult> gather(
      String jobId, long step, Collection<String> workerIds, int length, Duration deadline) {
    return gather(jobId, step, 0, workerIds, length, deadline);
  }

  /**
   * Starts gathering one vector of {@code length} elements from each of {@code workerIds} for
   * {@code (jobId, step, round)}. Call it before the workers are told to compute the step. Chunks
   * are added into one fp32 accumulator as they arrive, in a fixed order (workers sorted by id), so
   * the sum is bitwise independent of arrival order. Duplicate, stale, unknown-job, unknown-worker,
   * malformed and checksum-failing frames are dropped and counted ({@link #counters()}).
   *
   * <p>A new gather for a job replaces that job's previous one (an unfinished previous gather
   * completes as {@link GatherResult.TimedOut}). Several jobs may gather at once.
   *
   * @param round 0 normally; a higher round when the coordinator gathers a step again (for example
   *     the share of a worker that died); frames of older rounds are then dropped as stale
   * @param deadline from now; when it passes the future completes with {@link
   *     GatherResult.TimedOut} naming the incomplete and the silent workers
   * @return completes with {@link GatherResult.Complete} or {@link GatherResult.TimedOut}; fails
   *     only when the data plane is closed
   */
  public CompletableFuture<GatherResult> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline) {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /**
   * Sends the adapter parameters for {@code step} to every worker of the job that listens now, and
   * keeps a copy: a worker that connects later (or asks again) receives this version too, until a
   * newer one is broadcast. The array is copied before this method returns, so the caller may
   * change it right away.
   *
   * @return completes when every chunk has been handed to Aeron (delivery is Aeron's job from
   *     there; workers wait for the version they need); fails with {@link DataPlaneException} if
   *     the broadcast stays back-pressured past {@link DataPlaneConfig#sendTimeout()}
   */
  public CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters) {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /** Forgets a finished job: its pending gather is cancelled and its parameter copy released. */
  public void endJob(String jobId) {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /** Totals since {@link #open}, for metrics; cheap enough for every scrape. */
  public DataPlaneCounters counters() {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }

  /**
   * Stops the agent, fails pending futures with {@link DataPlaneException}, closes the channels and
   * the media driver and deletes its directory.
   */
  @Override
  public void close() {
    throw new UnsupportedOperationException("CoordinatorDataPlane is being built (issue #3)");
  }
}
