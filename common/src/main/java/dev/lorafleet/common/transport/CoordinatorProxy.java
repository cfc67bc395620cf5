package dev.lorafleet.common.transport;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;

/**
 * Hands commands from control-plane threads to the coordinator's data-plane agent through a bounded
 * lock-free queue; the agent drains it at the start of every duty cycle. Thread-safe.
 */
public final class CoordinatorProxy {
  private final ManyToOneConcurrentArrayQueue<CoordinatorCommand> queue;
  private final NanoClock clock;
  private final Runnable wake;

  /** A proxy for an agent driven by hand (tests): nothing to wake. */
  public CoordinatorProxy(
      ManyToOneConcurrentArrayQueue<CoordinatorCommand> queue, NanoClock clock) {
    this(queue, clock, () -> {});
  }

  /**
   * @param wake called after each command is queued: unparks the agent's thread, so a gather or
   *     broadcast starts at once instead of when the idle agent's park (up to 1 ms) ends; the first
   *     gradient frames then find it awake
   */
  public CoordinatorProxy(
      ManyToOneConcurrentArrayQueue<CoordinatorCommand> queue, NanoClock clock, Runnable wake) {
    this.queue = queue;
    this.clock = clock;
    this.wake = wake;
  }

  /** See {@link CoordinatorDataPlane#gather}. */
  public CompletableFuture<GatherResult> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline) {
    if (workerIds.isEmpty()) {
      throw new IllegalArgumentException(
          "gather for job " + jobId + " step " + step + " names no workers");
    }
    if (length < 0) {
      throw new IllegalArgumentException(
          "gather for job " + jobId + " step " + step + " has negative length " + length);
    }
    CompletableFuture<GatherResult> future = new CompletableFuture<>();
    long deadlineNanos = clock.nanoTime() + deadline.toNanos();
    offer(
        new CoordinatorCommand.Gather(
            jobId, step, round, List.copyOf(workerIds), length, deadlineNanos, future),
        future);
    return future;
  }

  /** See {@link CoordinatorDataPlane#broadcast}: the agent reads {@code parameters}, no copy. */
  public CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters) {
    CompletableFuture<Void> future = new CompletableFuture<>();
    offer(new CoordinatorCommand.Broadcast(jobId, step, parameters, future), future);
    return future;
  }

  /** See {@link CoordinatorDataPlane#recycle}; dropped quietly when the queue is full. */
  public void recycle(String jobId, float[] sum) {
    queue.offer(new CoordinatorCommand.Recycle(jobId, sum)); // no hurry: no wake-up
  }

  public void endJob(String jobId) {
    offer(new CoordinatorCommand.EndJob(jobId), null);
  }

  private void offer(CoordinatorCommand command, CompletableFuture<?> future) {
    if (queue.offer(command)) {
      wake.run();
    } else {
      DataPlaneException error =
          new DataPlaneException(
              "the data plane's command queue is full ("
                  + queue.capacity()
                  + " commands); is its agent thread stuck?");
      if (future == null) {
        throw error;
      }
      future.completeExceptionally(error);
    }
  }
}
