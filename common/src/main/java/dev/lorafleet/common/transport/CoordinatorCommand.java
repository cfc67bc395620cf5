package dev.lorafleet.common.transport;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** What the control plane asks of the coordinator's data-plane agent (via its proxy). */
sealed interface CoordinatorCommand {

  record Gather(
      String jobId,
      long step,
      int round,
      List<String> workerIds,
      int length,
      long deadlineNanos,
      CompletableFuture<GatherResult> future)
      implements CoordinatorCommand {}

  record Broadcast(String jobId, long step, float[] parameters, CompletableFuture<Void> future)
      implements CoordinatorCommand {}

  record EndJob(String jobId) implements CoordinatorCommand {}

  /** A gathered sum its caller is done with: the job's next gather sums into it. */
  record Recycle(String jobId, float[] sum) implements CoordinatorCommand {}
}
