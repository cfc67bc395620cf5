package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The last worker of a job goes (SIGTERM): the coordinator checkpoints at once, the job waits, goes
 * PAUSED after the configured time (not FAILED), and when a new worker process joins it goes on
 * from the exact step and ends where an undisturbed run ends.
 */
class JobPauseIT {
  private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);
  private static final Duration PAUSE_AFTER = Duration.ofSeconds(2);
  @TempDir Path dir;

  @Test
  void shouldPauseWithACheckpointWhenTheLastWorkerGoesAndGoOnWhenOneReturns() throws Exception {
    JobRunner.Timing timing =
        new JobRunner.Timing(STEP_DEADLINE, Duration.ofSeconds(60), STEP_DEADLINE)
            .withPauseAfter(PAUSE_AFTER);
    try (FaultCluster cluster = FaultCluster.start(dir, timing)) {
      LocalWorkers only = cluster.workers("a", 1);
      String id = cluster.submit(cluster.spec(1, 4, 150));
      cluster.awaitView(id, Duration.ofSeconds(60), v -> v.step() >= 4);
      Instant signalled = Instant.now();
      only.processes().get(0).destroy(); // SIGTERM: the job's last worker goes

      JsonNode notice = cluster.awaitEvent(id, "worker_leaving", Duration.ofSeconds(20));
      JsonNode stalled = cluster.awaitEvent(id, "no_workers", Duration.ofSeconds(30));
      JobView paused =
          cluster.awaitView(id, Duration.ofSeconds(30), v -> v.state() == JobState.PAUSED);
      long pausedAt = stalled.get("step").asLong();
      assertThat(paused.step()).isEqualTo(pausedAt);
      // the paused step is on disk: a coordinator lost now would resume from exactly here
      Path checkpoint = cluster.jobDir(id).resolve("checkpoints").resolve(stepDir(pausedAt));
      assertThat(checkpoint).isDirectory();
      assertThat(Checkpointer.readState(checkpoint).globalStep()).isEqualTo(pausedAt);
      JsonNode pausedEvent = cluster.awaitEvent(id, "paused", Duration.ofSeconds(10));
      assertThat(Duration.between(FaultCluster.time(stalled), FaultCluster.time(pausedEvent)))
          .isGreaterThanOrEqualTo(PAUSE_AFTER.minusMillis(50));

      Instant started = Instant.now();
      cluster.workers("b", 1);
      JsonNode resumed = cluster.awaitEvent(id, "resumed_with_workers", Duration.ofSeconds(60));
      JobView done = cluster.awaitTerminal(id, Duration.ofSeconds(90));

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(resumed.get("step").asLong()).isEqualTo(pausedAt);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(45);
      }
      assertThat(cluster.steps(id)).doesNotHaveDuplicates().hasSize(24);
      assertThat(cluster.events(id))
          .filteredOn(e -> e.get("type").asText().equals("state"))
          .extracting(e -> e.get("state").asText())
          .containsSubsequence("RUNNING", "PAUSED", "RUNNING", "SUCCEEDED")
          .doesNotContain("FAILED");

      String reference = cluster.submit(cluster.spec(1, 4, 0));
      assertThat(cluster.awaitTerminal(reference, Duration.ofSeconds(60)).state())
          .isEqualTo(JobState.SUCCEEDED);
      double diff =
          FaultCluster.maxRelativeDiff(cluster.finalAdapter(id), cluster.finalAdapter(reference));
      // one worker before and after the pause, the optimizer kept in memory: the same float
      // operations in the same order as the undisturbed run, so the adapters are bitwise equal
      assertThat(diff).isZero();
      double detect = Duration.between(signalled, FaultCluster.time(notice)).toMillis() / 1e3;
      double recover = Duration.between(started, FaultCluster.time(resumed)).toMillis() / 1e3;
      System.out.printf(
          "FAULT last_worker_sigterm_pause detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          detect, recover, diff);
      assertThat(Files.exists(cluster.jobDir(id).resolve("final"))).isTrue();
    }
  }

  private static String stepDir(long step) {
    return String.format("step-%08d", step);
  }
}
