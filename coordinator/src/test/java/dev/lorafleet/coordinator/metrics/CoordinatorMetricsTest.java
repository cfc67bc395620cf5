package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.worker.metrics.MetricsServer;
import dev.lorafleet.worker.metrics.Scrape;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CoordinatorMetricsTest {

  private static final Instant NOW = Instant.parse("2025-03-01T12:00:00Z");
  private static final Map<String, String> JOB = Map.of("job", "j1");

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final CoordinatorMetrics metrics =
      new CoordinatorMetrics(registry, Clock.fixed(NOW, ZoneOffset.UTC));
  private final MetricsServer server = MetricsServer.start("127.0.0.1", 0, registry);
  private final CoordinatorMetrics.Job job = metrics.job("j1", "CNY", 50);

  @AfterEach
  void stop() {
    server.close();
  }

  private static StepMetrics step(long step, double loss, long tokens) {
    return new StepMetrics(
        step,
        1,
        loss,
        2e-4,
        0.75,
        tokens,
        16,
        1234.5,
        600,
        new StepMetrics.PhaseSeconds(0.5, 0.05, 0.02));
  }

  @Test
  void exposesTheStepsLossLearningRateAndGradNormAsGauges() throws Exception {
    job.onPlanned(300);
    job.onStepCompleted(step(1, 2.5, 100));
    job.onStepCompleted(step(2, 2.25, 100));

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_train_loss", "gauge")
        .containsEntry("lorafleet_learning_rate", "gauge")
        .containsEntry("lorafleet_grad_norm", "gauge")
        .containsEntry("lorafleet_step", "gauge")
        .containsEntry("lorafleet_total_steps", "gauge")
        .containsEntry("lorafleet_epoch", "gauge")
        .containsEntry("lorafleet_tokens_per_second", "gauge")
        .containsEntry("lorafleet_eta_seconds", "gauge");
    assertThat(scrape.value("lorafleet_train_loss", JOB)).isEqualTo(2.25);
    assertThat(scrape.value("lorafleet_learning_rate", JOB)).isEqualTo(2e-4);
    assertThat(scrape.value("lorafleet_grad_norm", JOB)).isEqualTo(0.75);
    assertThat(scrape.value("lorafleet_step", JOB)).isEqualTo(2);
    assertThat(scrape.value("lorafleet_total_steps", JOB)).isEqualTo(300);
    assertThat(scrape.value("lorafleet_epoch", JOB)).isEqualTo(1);
    assertThat(scrape.value("lorafleet_tokens_per_second", JOB)).isEqualTo(1234.5);
    assertThat(scrape.value("lorafleet_eta_seconds", JOB)).isEqualTo(600);
    assertThat(scrape.value("lorafleet_last_progress_timestamp_seconds", JOB))
        .isEqualTo(NOW.getEpochSecond());
  }

  @Test
  void showsNoLossEtaOrCheckpointTimeBeforeTheyHaveAValue() throws Exception {
    Scrape scrape = Scrape.of(server.url());

    // a 0 here would read as "loss 0", "done now" or "checkpointed in 1970"
    assertThat(scrape.find("lorafleet_train_loss", JOB)).isEmpty();
    assertThat(scrape.find("lorafleet_eta_seconds", JOB)).isEmpty();
    assertThat(scrape.find("lorafleet_projected_cost", JOB)).isEmpty();
    assertThat(scrape.find("lorafleet_checkpoint_last_success_timestamp_seconds", JOB)).isEmpty();
    assertThat(scrape.value("lorafleet_step", JOB)).isZero();
    assertThat(scrape.value("lorafleet_checkpoint_last_success_step", JOB)).isZero();
  }

  @Test
  void countsTokensAndSamplesWithTotalSuffixExactlyOnce() throws Exception {
    job.onStepCompleted(step(1, 2.5, 100));
    job.onStepCompleted(step(2, 2.4, 150));

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_tokens_total", "counter")
        .containsEntry("lorafleet_samples_total", "counter");
    assertThat(scrape.value("lorafleet_tokens_total", JOB)).isEqualTo(250);
    assertThat(scrape.value("lorafleet_samples_total", JOB)).isEqualTo(32);
    assertThat(scrape.text()).doesNotContain("_total_total");
  }

  @Test
  void observesStepSecondsByPhaseInAHistogram() throws Exception {
    job.onStepCompleted(step(1, 2.5, 100));
    job.onStepCompleted(step(2, 2.4, 100));
    job.onBroadcast(Duration.ofMillis(10));
    job.onBroadcast(Duration.ofMillis(10));

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types()).containsEntry("lorafleet_step_seconds", "histogram");
    for (var phase :
        Map.of("compute", 1.0, "reduce", 0.1, "optimizer", 0.04, "broadcast", 0.02).entrySet()) {
      Map<String, String> labels = Map.of("job", "j1", "phase", phase.getKey());
      assertThat(scrape.value("lorafleet_step_seconds_count", labels)).isEqualTo(2);
      assertThat(scrape.value("lorafleet_step_seconds_sum", labels))
          .isCloseTo(phase.getValue(), org.assertj.core.data.Offset.offset(1e-9));
      assertThat(scrape.find("lorafleet_step_seconds_bucket", labels)).hasSizeGreaterThan(10);
    }
  }

  @Test
  void exposesEvalLossPerEvalSet() throws Exception {
    job.onEvaluated("medqa-heldout", 1.5);
    job.onEvaluated("general-regression", 2.0);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types()).containsEntry("lorafleet_eval_loss", "gauge");
    assertThat(
            scrape.value("lorafleet_eval_loss", Map.of("job", "j1", "eval_set", "medqa-heldout")))
        .isEqualTo(1.5);
    assertThat(
            scrape.value(
                "lorafleet_eval_loss", Map.of("job", "j1", "eval_set", "general-regression")))
        .isEqualTo(2.0);
  }

  @Test
  void costCounterFollowsCostSoFarAndNeverGoesDown() throws Exception {
    job.onCost(1.25, 100);
    job.onCost(2.5, 90);
    job.onCost(2.0, 95); // a late, lower reading must not decrease a counter
    job.onEpochCompleted(1, 2.5);

    Scrape scrape = Scrape.of(server.url());

    Map<String, String> labels = Map.of("job", "j1", "currency", "CNY");
    assertThat(scrape.types())
        .containsEntry("lorafleet_cost_total", "counter")
        .containsEntry("lorafleet_projected_cost", "gauge")
        .containsEntry("lorafleet_cost_per_epoch", "gauge");
    assertThat(scrape.value("lorafleet_cost_total", labels)).isEqualTo(2.5);
    assertThat(scrape.value("lorafleet_projected_cost", labels)).isEqualTo(95);
    assertThat(
            scrape.value(
                "lorafleet_cost_per_epoch", Map.of("job", "j1", "currency", "CNY", "epoch", "1")))
        .isEqualTo(2.5);
  }

  @Test
  void resumeStartsFromTheCheckpointsStepAndCost() throws Exception {
    CoordinatorMetrics.Job resumed = metrics.job("j2", "USD", 10);
    resumed.onResumed(40, 2, 7.5);
    resumed.onCost(8.0, 20);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.value("lorafleet_step", Map.of("job", "j2"))).isEqualTo(40);
    assertThat(scrape.value("lorafleet_checkpoint_last_success_step", Map.of("job", "j2")))
        .isEqualTo(40);
    assertThat(scrape.value("lorafleet_cost_total", Map.of("job", "j2", "currency", "USD")))
        .isEqualTo(8.0);
  }

  @Test
  void recordsCheckpointDurationStepAndTime() throws Exception {
    job.onCheckpointWritten(50, Duration.ofMillis(1200));

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_checkpoint_seconds", "histogram")
        .containsEntry("lorafleet_checkpoint_last_success_timestamp_seconds", "gauge")
        .containsEntry("lorafleet_checkpoint_last_success_step", "gauge")
        .containsEntry("lorafleet_checkpoint_every_steps", "gauge");
    assertThat(scrape.value("lorafleet_checkpoint_seconds_sum", JOB)).isEqualTo(1.2);
    assertThat(scrape.value("lorafleet_checkpoint_last_success_timestamp_seconds", JOB))
        .isEqualTo(NOW.getEpochSecond());
    assertThat(scrape.value("lorafleet_checkpoint_last_success_step", JOB)).isEqualTo(50);
    assertThat(scrape.value("lorafleet_checkpoint_every_steps", JOB)).isEqualTo(50);
    assertThat(scrape.find("lorafleet_total_steps", JOB)).as("not planned yet").isEmpty();
  }

  @Test
  void countsSkippedStepsByReasonStartingAtZero() throws Exception {
    job.onSkippedStep(SkipReason.NON_FINITE_GRADIENT);
    job.onSkippedStep(SkipReason.NON_FINITE_GRADIENT);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types()).containsEntry("lorafleet_skipped_steps_total", "counter");
    assertThat(
            scrape.value(
                "lorafleet_skipped_steps_total",
                Map.of("job", "j1", "reason", "non_finite_gradient")))
        .isEqualTo(2);
    assertThat(
            scrape.value(
                "lorafleet_skipped_steps_total",
                Map.of("job", "j1", "reason", "no_trainable_tokens")))
        .isZero();
  }

  @Test
  void exposesEachJobsStateAndTheCountOfJobsPerState() throws Exception {
    job.onStateChanged("RUNNING");
    metrics.job("j2", "CNY", 5).onStateChanged("SUCCEEDED");
    metrics.job("j3", "CNY", 5).onStateChanged("RUNNING");

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_jobs", "gauge")
        .containsEntry("lorafleet_job_state", "gauge");
    assertThat(scrape.value("lorafleet_jobs", Map.of("state", "RUNNING"))).isEqualTo(2);
    assertThat(scrape.value("lorafleet_jobs", Map.of("state", "SUCCEEDED"))).isEqualTo(1);
    assertThat(scrape.value("lorafleet_jobs", Map.of("state", "QUEUED"))).isZero();
    assertThat(scrape.value("lorafleet_job_state", Map.of("job", "j1", "state", "RUNNING")))
        .isEqualTo(1);
    assertThat(scrape.value("lorafleet_job_state", Map.of("job", "j1", "state", "QUEUED")))
        .isZero();
    assertThat(scrape.find("lorafleet_job_state", JOB))
        .hasSize(CoordinatorMetrics.JOB_STATES.size());
  }

  @Test
  void refusesAStateOutsideTheContract() {
    assertThatThrownBy(() -> job.onStateChanged("DONE"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("job j1")
        .hasMessageContaining("DONE")
        .hasMessageContaining("WAITING_FOR_WORKERS");
  }

  @Test
  void exposesWorkersByStateDevicesAndLostWorkers() throws Exception {
    metrics.onWorkersChanged(5, 24);
    job.onWorkersHeld(java.util.List.of("w1", "w2"));
    metrics.job("j2", "CNY", 5).onWorkersHeld(java.util.List.of("w2", "w3"));
    metrics.onWorkerLost();

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_workers", "gauge")
        .containsEntry("lorafleet_devices", "gauge")
        .containsEntry("lorafleet_workers_lost_total", "counter");
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "busy"))).isEqualTo(3);
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "idle"))).isEqualTo(2);
    assertThat(scrape.value("lorafleet_devices", Map.of())).isEqualTo(24);
    assertThat(scrape.value("lorafleet_workers_lost_total", Map.of())).isEqualTo(1);
  }

  @Test
  void workersOfAFinishedJobAreIdleAgain() throws Exception {
    metrics.onWorkersChanged(2, 2);
    job.onWorkersHeld(java.util.List.of("w1", "w2"));

    job.onWorkersHeld(java.util.List.of());

    Scrape scrape = Scrape.of(server.url());
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "busy"))).isZero();
    assertThat(scrape.value("lorafleet_workers", Map.of("state", "idle"))).isEqualTo(2);
  }

  @Test
  void readsTransportCountersAtScrapeTime() throws Exception {
    AtomicLong backPressure = new AtomicLong(3);
    metrics.registerDroppedFrames("back_pressure", backPressure::get);
    metrics.registerDroppedFrames(
        "broken",
        () -> {
          throw new IllegalStateException("counter file unmapped");
        });
    metrics.registerGradientBytes("fp32", () -> 4096);
    metrics.addGradientBytes("bf16", 100);
    metrics.addGradientBytes("bf16", 28);
    backPressure.set(5);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_transport_dropped_frames_total", "counter")
        .containsEntry("lorafleet_gradient_bytes_total", "counter");
    assertThat(
            scrape.value(
                "lorafleet_transport_dropped_frames_total", Map.of("reason", "back_pressure")))
        .isEqualTo(5);
    assertThat(scrape.find("lorafleet_transport_dropped_frames_total", Map.of("reason", "broken")))
        .isEmpty();
    assertThat(scrape.value("lorafleet_gradient_bytes_total", Map.of("dtype", "fp32")))
        .isEqualTo(4096);
    assertThat(scrape.value("lorafleet_gradient_bytes_total", Map.of("dtype", "bf16")))
        .isEqualTo(128);
  }

  @Test
  void readsTheDataPlanesDropsAndGradientBytes() throws Exception {
    DataPlaneCounters[] now = {new DataPlaneCounters(1, 100, 0, 0, 0, 0, 0, 0, 0, 0)};
    metrics.registerDataPlane(() -> now[0], WireDtype.BF16);
    now[0] = new DataPlaneCounters(9, 900, 0, 5, 1, 0, 0, 2, 0, 0);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.value("lorafleet_gradient_bytes_total", Map.of("dtype", "bf16")))
        .isEqualTo(900);
    assertThat(
            scrape.value(
                "lorafleet_transport_dropped_frames_total", Map.of("reason", "stale_step")))
        .isEqualTo(5);
    assertThat(
            scrape.value(
                "lorafleet_transport_dropped_frames_total", Map.of("reason", "unknown_job")))
        .isEqualTo(1);
    assertThat(
            scrape.value("lorafleet_transport_dropped_frames_total", Map.of("reason", "checksum")))
        .isEqualTo(2);
    assertThat(scrape.find("lorafleet_transport_dropped_frames_total", Map.of())).hasSize(6);
  }

  @Test
  void forgetsEveryTimeSeriesOfADeletedJob() throws Exception {
    job.onStepCompleted(step(1, 2.5, 100));
    job.onEvaluated("heldout", 1.0);
    job.onCost(1, 2);
    CoordinatorMetrics.Job other = metrics.job("j2", "CNY", 5);
    other.onStepCompleted(step(1, 3.0, 10));

    metrics.forgetJob("j1");

    Scrape scrape = Scrape.of(server.url());
    assertThat(scrape.samples()).noneMatch(s -> "j1".equals(s.labels().get("job")));
    assertThat(scrape.value("lorafleet_train_loss", Map.of("job", "j2"))).isEqualTo(3.0);
  }

  @Test
  void stallClockStartsWhenTheJobWantsToTrainNotWhenItLosesWorkers() throws Exception {
    Instant[] now = {NOW};
    Clock moving =
        new Clock() {
          @Override
          public ZoneOffset getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return now[0];
          }
        };
    PrometheusRegistry own = new PrometheusRegistry();
    CoordinatorMetrics movingMetrics = new CoordinatorMetrics(own, moving);
    CoordinatorMetrics.Job paused = movingMetrics.job("p", "CNY", 5);
    paused.onStepCompleted(step(1, 2.0, 10));
    paused.onStateChanged("PAUSED");
    now[0] = NOW.plusSeconds(3600);

    paused.onStateChanged("RUNNING");

    CoordinatorMetrics.Job orphaned = movingMetrics.job("o", "CNY", 5);
    orphaned.onStateChanged("RUNNING");
    now[0] = NOW.plusSeconds(7200);
    orphaned.onStateChanged("WAITING_FOR_WORKERS"); // lost its workers: the clock keeps running

    try (MetricsServer s = MetricsServer.start("127.0.0.1", 0, own)) {
      Scrape scrape = Scrape.of(s.url());
      assertThat(scrape.value("lorafleet_last_progress_timestamp_seconds", Map.of("job", "p")))
          .isEqualTo(NOW.getEpochSecond() + 3600);
      assertThat(scrape.value("lorafleet_last_progress_timestamp_seconds", Map.of("job", "o")))
          .isEqualTo(NOW.getEpochSecond() + 3600);
    }
  }
}
