package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.metrics.DeviceMemoryProbe.DeviceMemory;
import dev.lorafleet.worker.metrics.Scrape;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job runner reports to {@link CoordinatorMetrics} what the dashboard shows: a whole job in one
 * actor system (real registry and worker actors, in-memory data plane, quadratic stand-in trainer),
 * then the metrics compared with the job's own status.
 */
class JobRunnerMetricsTest {
  @TempDir Path dir;
  private final ActorTestKit kit = ActorTestKit.create();
  private final CoordinatorMetrics metrics = CoordinatorMetrics.create();
  private final List<PrometheusRegistry> workerRegistries =
      List.of(new PrometheusRegistry(), new PrometheusRegistry());
  private final List<WorkerMetrics> workerMetrics =
      List.of(
          new WorkerMetrics(workerRegistries.get(0), "w0", List::<DeviceMemory>of),
          new WorkerMetrics(workerRegistries.get(1), "w1", List::<DeviceMemory>of));
  private final InMemoryExchange exchange = new InMemoryExchange();
  private QuadJobs jobs;

  @org.junit.jupiter.api.BeforeEach
  void jobHelpers() {
    jobs = new QuadJobs(kit, dir, exchange, new TestingRawFormat());
  }

  @AfterEach
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void reportsStepsLossCostEvalsCheckpointsAndWorkersOfAFinishedJob() throws Exception {
    startCluster(2);
    JobStatus done = awaitTerminal(submit(settings(writeLines("train.jsonl", 37), 2)).id());
    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);

    Scrape scrape = scrape();

    Map<String, String> job = Map.of("job", done.id());
    long steps = done.totalSteps();
    assertThat(scrape.value("lorafleet_step", job)).isEqualTo(steps);
    assertThat(scrape.value("lorafleet_total_steps", job)).isEqualTo(steps);
    assertThat(scrape.value("lorafleet_epoch", job)).isEqualTo(2);
    assertThat(scrape.value("lorafleet_samples_total", job)).isEqualTo(2 * 37);
    assertThat(scrape.value("lorafleet_tokens_total", job))
        .isEqualTo(done.epochs().stream().mapToLong(e -> e.tokens()).sum());
    assertThat(scrape.value("lorafleet_train_loss", job)).isPositive().isFinite();
    assertThat(scrape.value("lorafleet_learning_rate", job)).isEqualTo(0.1);
    assertThat(scrape.value("lorafleet_grad_norm", job)).isPositive();
    for (String phase : List.of("compute", "reduce", "optimizer")) {
      assertThat(
              scrape.value(
                  "lorafleet_step_seconds_count", Map.of("job", done.id(), "phase", phase)))
          .as(phase)
          .isEqualTo(steps);
      // each phase is a real interval of this short run: not negative, not the whole clock
      assertThat(
              scrape.value("lorafleet_step_seconds_sum", Map.of("job", done.id(), "phase", phase)))
          .as(phase)
          .isBetween(0.0, 60.0);
    }
    assertThat(
            scrape.value(
                "lorafleet_step_seconds_count", Map.of("job", done.id(), "phase", "broadcast")))
        .isGreaterThanOrEqualTo(steps);
    assertThat(
            scrape.value("lorafleet_eval_loss", Map.of("job", done.id(), "eval_set", "held-out")))
        .isEqualTo(done.epochs().get(1).evalLoss().get("held-out"));
    Map<String, String> money = Map.of("job", done.id(), "currency", "CNY");
    assertThat(scrape.value("lorafleet_cost_total", money)).isCloseTo(done.cost(), within(1e-9));
    assertThat(scrape.value("lorafleet_projected_cost", money))
        .isCloseTo(done.projectedCost(), within(1e-9));
    assertThat(
            scrape.value(
                "lorafleet_cost_per_epoch",
                Map.of("job", done.id(), "currency", "CNY", "epoch", "1")))
        .isEqualTo(done.epochs().get(0).cost());
    assertThat(scrape.value("lorafleet_checkpoint_last_success_step", job)).isEqualTo(steps);
    assertThat(scrape.value("lorafleet_checkpoint_seconds_count", job)).isGreaterThan(2);
    assertThat(scrape.value("lorafleet_job_state", Map.of("job", done.id(), "state", "SUCCEEDED")))
        .isEqualTo(1);
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "busy"))).isZero();
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "idle"))).isEqualTo(2);
    assertThat(scrape.value("lorafleet_devices", Map.of())).isEqualTo(2);
    assertThat(scrape.value("lorafleet_workers_lost_total", Map.of())).isZero();
    double workerTokens = 0;
    for (PrometheusRegistry registry : workerRegistries) {
      Scrape worker = scrape(registry);
      workerTokens += worker.value("lorafleet_worker_tokens_total", job);
      assertThat(worker.value("lorafleet_worker_step_compute_seconds_count", job)).isPositive();
      assertThat(worker.find("lorafleet_worker_model_load_seconds", Map.of())).hasSize(1);
    }
    assertThat(workerTokens)
        .as("the workers' shares add up to the job's tokens")
        .isEqualTo(scrape.value("lorafleet_tokens_total", job));
    assertThat(
            scrape.value(
                "lorafleet_skipped_steps_total",
                Map.of("job", done.id(), "reason", "non_finite_gradient")))
        .isZero();
  }

  @Test
  void countsTheWorkersOfARunningJobAsBusy() throws Exception {
    startCluster(2);
    JobStatus job = submit(settings(writeLines("train.jsonl", 400), 50));
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                scrape().find("lorafleet_step", Map.of("job", job.id())).stream()
                    .anyMatch(s -> s.value() >= 2));

    Scrape scrape = scrape();

    assertThat(scrape.value("lorafleet_workers", Map.of("state", "busy"))).isEqualTo(2);
    assertThat(scrape.value("lorafleet_job_state", Map.of("job", job.id(), "state", "RUNNING")))
        .isEqualTo(1);
    assertThat(scrape.value("lorafleet_eta_seconds", Map.of("job", job.id()))).isPositive();
    assertThat(scrape.value("lorafleet_last_progress_timestamp_seconds", Map.of("job", job.id())))
        .isCloseTo(System.currentTimeMillis() / 1000.0, within(30.0));
  }

  private Scrape scrape() throws IOException {
    return scrape(metrics.registry());
  }

  private static Scrape scrape(PrometheusRegistry registry) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
    return Scrape.parse(out.toString(StandardCharsets.UTF_8));
  }

  private void startCluster(int workers) {
    jobs.startCoordinator(
        "", QuadJobs.timing(Duration.ofSeconds(20)), metrics, FailurePolicy.defaults());
    for (int i = 0; i < workers; i++) {
      jobs.startWorker(i, TestingQuadraticCompute.factory(), exchange, workerMetrics.get(i));
    }
  }

  private JobSettings settings(Path train, int epochs) throws IOException {
    return jobs.settings(train, 2, epochs, "/models/tiny", 2);
  }

  private Path writeLines(String name, int n) throws IOException {
    return jobs.writeLines(name, n);
  }

  private JobStatus submit(JobSettings settings) {
    return jobs.submit(settings, "name: quad\n");
  }

  private JobStatus awaitTerminal(String jobId) {
    return jobs.awaitTerminal(jobId, Duration.ofSeconds(60));
  }

  private JobStatus status(String jobId) {
    return jobs.status(jobId);
  }
}
