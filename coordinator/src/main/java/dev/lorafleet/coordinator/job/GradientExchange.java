package dev.lorafleet.coordinator.job;

import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator's end of the data plane as the job runner needs it (the Aeron {@code
 * CoordinatorDataPlane} in production): gather one step's gradient sums, broadcast parameters.
 * Never blocks; futures complete on the data plane's thread.
 */
public interface GradientExchange {
  /** How a gather ended. */
  sealed interface Gathered {
    /** Every expected worker's vector arrived and was summed (in a fixed worker order). */
    record Complete(float[] sum, long tokens, double lossSum) implements Gathered {}

    /** The deadline passed first; {@code silent} sent nothing at all. */
    record Incomplete(Set<String> incomplete, Set<String> silent) implements Gathered {}
  }

  /** What workers need to reach this data plane (sent to them in {@code CoordinatorHello}). */
  String endpoints();

  /** Starts gathering; call before telling the workers to compute. */
  CompletableFuture<Gathered> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline);

  /**
   * Gives a {@link Gathered.Complete#sum()} back once nothing reads it any more: the job's next
   * gather may sum into it instead of a new array (see {@code CoordinatorDataPlane.recycle}). The
   * caller must not touch the array afterwards. Optional: the default forgets it.
   */
  default void recycle(String jobId, float[] sum) {}

  /**
   * Sends the parameters to train {@code step} with. The array is not copied: it must not change
   * until a gather started after the job's next broadcast has completed (see {@code
   * CoordinatorDataPlane.broadcast}).
   */
  CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters);

  /** Forgets a finished job. */
  void endJob(String jobId);
}
