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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process told to go (SIGTERM, as a spot notice or a scale-down sends it) says so,
 * finishes its share and leaves; the coordinator plans the next steps without it at once, with no
 * deadline waited out, no step lost and every example trained once per epoch.
 */
class WorkerLeaveIT {
  private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);
  @TempDir Path dir;

  @Test
  void shouldPlanWithoutAWorkerThatLeavesOnSigtermAndLoseNoStep() throws Exception {
    JobRunner.Timing timing =
        new JobRunner.Timing(STEP_DEADLINE, Duration.ofSeconds(60), STEP_DEADLINE);
    try (FaultCluster cluster = FaultCluster.start(dir, timing)) {
      LocalWorkers workers = cluster.workers("a", 2);
      String id = cluster.submit(cluster.spec(2, 4, 200));
      cluster.awaitView(id, Duration.ofSeconds(60), v -> v.step() >= 4);
      Process going = workers.processes().get(1);
      Instant signalled = Instant.now();
      going.destroy(); // SIGTERM

      JsonNode notice = cluster.awaitEvent(id, "worker_leaving", Duration.ofSeconds(20));
      JsonNode left = cluster.awaitEvent(id, "worker_left", Duration.ofSeconds(30));
      JobView done = cluster.awaitTerminal(id, Duration.ofSeconds(90));

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      // ended by its SIGTERM (128+15) after its shutdown hooks ran, not killed past the grace
      assertThat(going.exitValue()).as("the worker's exit status").isIn(0, 143);
      assertThat(left.get("announced").asBoolean()).isTrue();
      assertThat(notice.get("worker").asText()).isEqualTo(left.get("worker").asText());
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(45);
      }
      assertThat(done.epochs().get(3).workers()).isEqualTo(1);
      List<Long> steps = cluster.steps(id);
      assertThat(steps).doesNotHaveDuplicates().hasSize(24);
      // the step after the notice was planned over the other worker: trained without any wait
      long noticeStep = notice.get("step").asLong();
      Instant nextDone =
          cluster.events(id).stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .filter(e -> e.get("step").asLong() == noticeStep + 1)
              .map(FaultCluster::time)
              .findFirst()
              .orElseThrow();
      double detect = Duration.between(signalled, FaultCluster.time(notice)).toMillis() / 1e3;
      double recover = Duration.between(signalled, nextDone).toMillis() / 1e3;
      assertThat(detect).isLessThan(10);
      assertThat(recover).isLessThan(20);

      String reference = cluster.submit(cluster.spec(1, 4, 0));
      assertThat(cluster.awaitTerminal(reference, Duration.ofSeconds(60)).state())
          .isEqualTo(JobState.SUCCEEDED);
      double diff =
          FaultCluster.maxRelativeDiff(cluster.finalAdapter(id), cluster.finalAdapter(reference));
      // same examples in the same steps; only the grouping of fp32 partial sums differs
      assertThat(diff).isLessThan(1e-4);
      System.out.printf(
          "FAULT worker_sigterm detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          detect, recover, diff);
    }
  }
}
