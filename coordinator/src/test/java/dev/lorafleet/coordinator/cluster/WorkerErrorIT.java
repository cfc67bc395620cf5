package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.job.FailurePolicy;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process whose model code throws (test-only fault injection): each failure uses one of
 * the job's error budget and the step is tried again; the second failure puts the worker aside, the
 * job goes on with the other worker, and {@code GET /api/v1/workers} shows it {@code QUARANTINED}.
 * Every example is still trained once per epoch.
 */
class WorkerErrorIT {
  private static final int SAMPLES = 45;
  private static final int EPOCHS = 8;
  private static final int STEPS_PER_EPOCH = 6;
  private static final Duration JOB_BOUND = Duration.ofSeconds(90);

  @TempDir Path dir;

  @Test
  void shouldRetryAWorkersCrashAndQuarantineItWhenItKeepsFailing() throws Exception {
    JobRunner.Timing timing =
        new JobRunner.Timing(
            Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(30));
    try (FaultCluster cluster =
        FaultCluster.start(
            dir,
            timing,
            settings ->
                settings.withFailures(
                    FailurePolicy.defaults()))) { // budget 3; aside after 2 errors
      LocalWorkers workers =
          cluster.workers(
              "a",
              2,
              i ->
                  i == 1
                      ? List.of("--devices", "1", "--test-fail-steps", "2")
                      : List.of("--devices", "1"));
      cluster.awaitMembers(Duration.ofSeconds(60), m -> m.size() == 2);
      String id = cluster.submit(cluster.spec(2, EPOCHS, 0));

      JobView done = cluster.awaitTerminal(id, JOB_BOUND);

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(done.epochs()).hasSize(EPOCHS);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(SAMPLES);
      }
      List<JsonNode> events = cluster.events(id);
      List<JsonNode> errors = FaultCluster.ofType(events, "worker_error");
      assertThat(errors)
          .hasSize(2)
          .allSatisfy(
              e -> {
                assertThat(e.get("worker").asText()).startsWith("local-1");
                assertThat(e.get("error").asText()).contains("injected crash");
                assertThat(e.get("budget").asInt()).isEqualTo(3);
              });
      JsonNode aside =
          FaultCluster.ofType(events, "worker_quarantined").stream()
              .findFirst()
              .orElseThrow(() -> new AssertionError("no worker_quarantined event"));
      long failedStep = errors.get(0).get("step").asLong();
      Instant firstError = FaultCluster.time(errors.get(0));
      Instant quarantinedAt = FaultCluster.time(aside);
      Instant recoveredAt = FaultCluster.firstStepTime(events, failedStep);
      assertThat(cluster.steps(id)).doesNotHaveDuplicates().hasSize(EPOCHS * STEPS_PER_EPOCH);
      // the API shows the worker put aside; it is alive, not gone
      List<WorkerView> members = cluster.members();
      assertThat(members)
          .filteredOn(w -> w.name().equals("local-1"))
          .singleElement()
          .satisfies(w -> assertThat(w.state()).isEqualTo(WorkerView.State.QUARANTINED));
      assertThat(workers.processes().get(1).isAlive()).isTrue();

      // the healthy worker alone reaches the same adapter (float sums in another order)
      double maxRelative = cluster.assertMatchesUndisturbedRun(id, 1, EPOCHS, JOB_BOUND);
      System.out.printf(
          "FAULT worker_model_error detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          Duration.between(firstError, quarantinedAt).toMillis() / 1e3,
          Duration.between(firstError, recoveredAt).toMillis() / 1e3,
          maxRelative);
    }
  }
}
