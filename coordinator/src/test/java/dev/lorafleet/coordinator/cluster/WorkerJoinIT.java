package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process that joins while a job runs short of workers: the job takes it, it prepares,
 * gets the current adapter over the data plane and trains a share from the next step on; every
 * example is still trained once per epoch and the adapter ends where an undisturbed run ends.
 */
class WorkerJoinIT {
  private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);
  @TempDir Path dir;

  @Test
  void shouldGiveAWorkerThatJoinsMidRunTheCurrentAdapterAndAShare() throws Exception {
    JobRunner.Timing timing =
        new JobRunner.Timing(STEP_DEADLINE, Duration.ofSeconds(60), STEP_DEADLINE);
    try (FaultCluster cluster = FaultCluster.start(dir, timing)) {
      LocalWorkers first = cluster.workers("a", 2);
      // 72 steps of at least 300 ms: time for a new worker JVM to start, join and prepare
      String id = cluster.submit(cluster.spec(2, 12, 300));
      cluster.awaitView(id, Duration.ofSeconds(60), v -> v.step() >= 3);
      first.processes().get(1).destroy(); // SIGTERM: the job runs on one worker for now
      cluster.awaitEvent(id, "worker_left", Duration.ofSeconds(30));

      Instant started = Instant.now();
      cluster.workers("b", 1);
      JsonNode joining = cluster.awaitEvent(id, "worker_joining", Duration.ofSeconds(60));
      JsonNode joined = cluster.awaitEvent(id, "worker_joined", Duration.ofSeconds(30));
      JobView done = cluster.awaitTerminal(id, Duration.ofSeconds(90));

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(done.epochs()).hasSize(12);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(45);
      }
      long joinStep = joined.get("step").asLong();
      assertThat(joinStep).as("joined before the job ended").isLessThan(done.totalSteps() - 6);
      // the last epoch ran on the survivor and the joiner
      assertThat(done.epochs().get(11).workers()).isEqualTo(2);
      assertThat(cluster.steps(id)).doesNotHaveDuplicates().hasSize(72);

      // the same job undisturbed on two workers (shares without delay: same arithmetic)
      String reference = cluster.submit(cluster.spec(2, 12, 0));
      assertThat(cluster.awaitTerminal(reference, Duration.ofSeconds(90)).state())
          .isEqualTo(JobState.SUCCEEDED);
      double diff =
          FaultCluster.maxRelativeDiff(cluster.finalAdapter(id), cluster.finalAdapter(reference));
      // the same examples in the same steps; only the grouping of the fp32 partial sums differs
      // (1 then 2 workers): rounding of ~1e-7 per add over 72 AdamW steps stays below 1e-4
      assertThat(diff).isLessThan(1e-4);
      double detect = Duration.between(started, FaultCluster.time(joining)).toMillis() / 1e3;
      double recover = Duration.between(started, FaultCluster.time(joined)).toMillis() / 1e3;
      System.out.printf(
          "FAULT worker_join detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          detect, recover, diff);
      System.out.printf(
          "worker join: taken at step %d, %.2f s after its process started, ready %.2f s after, at"
              + " step %d (trains from the next step)%n",
          joining.get("step").asLong(), detect, recover, joinStep);
    }
  }
}
