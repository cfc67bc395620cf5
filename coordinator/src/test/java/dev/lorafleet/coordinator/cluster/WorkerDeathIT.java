package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process killed with SIGKILL in the middle of a job: the coordinator notices (cluster
 * membership or the step watchdog), the step is planned again over the other workers, every example
 * is still trained exactly once per epoch, the dead node stops costing money, and the adapter ends
 * where a run with only the survivors ends.
 */
class WorkerDeathIT {
  /** The step watchdog: longer than the whole test may take. */
  private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);

  private static final Duration JOB_BOUND = Duration.ofSeconds(90);

  @TempDir Path dir;

  @Test
  void shouldReassignShareWhenWorkerDies() throws Exception {
    // a step watchdog far beyond the test's bounds: the dead worker must be noticed through
    // cluster membership and its share planned again at once (the watchdog path is
    // JobRunnerTest's silent worker)
    JobRunner.Timing timing =
        new JobRunner.Timing(STEP_DEADLINE, Duration.ofSeconds(60), STEP_DEADLINE);
    try (FaultCluster cluster = FaultCluster.start(dir, timing)) {
      LocalWorkers workers = cluster.workers("a", 3);
      String id = cluster.submit(cluster.spec(3, 8, 0));
      cluster.awaitView(id, Duration.ofSeconds(60), v -> v.step() >= 8);
      Process victim = workers.processes().get(1);
      Instant killedAt = Instant.now();
      victim.destroyForcibly(); // SIGKILL
      long stepAtKill = cluster.view(id).step();

      JobView done = cluster.awaitTerminal(id, JOB_BOUND);

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(done.epochs()).hasSize(8);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(45);
      }
      List<JsonNode> events = cluster.events(id);
      JsonNode lost =
          events.stream()
              .filter(e -> e.get("type").asText().matches("worker_left|worker_dropped"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no worker_left/worker_dropped event"));
      Instant detectedAt = FaultCluster.time(lost);
      long lostStep = lost.get("step").asLong();
      Instant recoveredAt = FaultCluster.firstStepTime(events, lostStep);
      // the last epochs ran on 2 workers: the dead node is no longer counted
      EpochReport last = done.epochs().get(done.epochs().size() - 1);
      assertThat(last.workers()).isEqualTo(2);
      assertThat(last.cost()).isCloseTo(last.gpuHours() * 2.0, within(1e-12));
      // each step appears once in the events: no step trained twice
      assertThat(cluster.steps(id)).doesNotHaveDuplicates().hasSize(8 * 6);
      // membership noticed the death (the split brain resolver downs the node after 7 s of
      // silence), not the watchdog
      assertThat(lost.get("type").asText()).isEqualTo("worker_left");
      Duration detect = Duration.between(killedAt, detectedAt);
      Duration recover = Duration.between(killedAt, recoveredAt);
      assertThat(detect).isLessThan(STEP_DEADLINE.dividedBy(4));
      assertThat(recover).isLessThan(STEP_DEADLINE.dividedBy(3));
      assertThat(FaultCluster.ofType(events, "step_replanned"))
          .allMatch(e -> e.get("step").asLong() == lostStep);

      // the survivors alone reach the same adapter: the same examples in the same steps, only the
      // gradient partial sums are added in another grouping (3 then 2 workers instead of 2), so
      // fp32 rounding (~1e-7 per add) compounded over 48 AdamW steps stays far below 1e-4 relative
      double maxRelative = cluster.assertMatchesUndisturbedRun(id, 2, 8, JOB_BOUND);
      System.out.printf(
          "FAULT worker_kill9 detect_s=%.2f recover_s=%.2f steps_lost=0 adapter_max_rel_diff=%.3g%n",
          detect.toMillis() / 1e3, recover.toMillis() / 1e3, maxRelative);
      System.out.printf(
          "worker death: killed at step %d, detected %d ms after the kill (%s), step %d"
              + " completed by the survivors %d ms after the kill, 0 steps lost, final adapter"
              + " max relative difference vs a 2-worker run %.3g%n",
          stepAtKill,
          Duration.between(killedAt, detectedAt).toMillis(),
          lost.get("type").asText(),
          lostStep,
          Duration.between(killedAt, recoveredAt).toMillis(),
          maxRelative);
    }
  }
}
