package dev.lorafleet.coordinator.metrics;

import dev.lorafleet.worker.metrics.DeviceMemoryProbe;
import dev.lorafleet.worker.metrics.MetricsServer;
import dev.lorafleet.worker.metrics.Scrape;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the code really exposes: both metrics classes with every method called once, scraped over
 * HTTP (so the JVM metrics the servers add are in too).
 */
final class ExportedMetrics {

  private ExportedMetrics() {}

  /** The samples of a coordinator and a worker after each of their methods was called. */
  static List<Scrape.Sample> exerciseAndScrape() throws Exception {
    PrometheusRegistry coordinatorRegistry = new PrometheusRegistry();
    PrometheusRegistry workerRegistry = new PrometheusRegistry();
    exerciseCoordinator(new CoordinatorMetrics(coordinatorRegistry, Clock.systemUTC()));
    exerciseWorker(
        new WorkerMetrics(
            workerRegistry,
            "node-a",
            () -> List.of(new DeviceMemoryProbe.DeviceMemory("gpu0", 1, 2))));
    try (MetricsServer c = MetricsServer.start("127.0.0.1", 0, coordinatorRegistry);
        MetricsServer w = MetricsServer.start("127.0.0.1", 0, workerRegistry)) {
      List<Scrape.Sample> all = new java.util.ArrayList<>(Scrape.of(c.url()).samples());
      all.addAll(Scrape.of(w.url()).samples());
      return all;
    }
  }

  /** The names of the exposed series (histograms as _bucket/_sum/_count, counters with _total). */
  static Set<String> names(List<Scrape.Sample> samples) {
    Set<String> out = new HashSet<>();
    samples.forEach(s -> out.add(s.name()));
    return out;
  }

  static void exerciseCoordinator(CoordinatorMetrics metrics) {
    CoordinatorMetrics.Job job = metrics.job("j1", "USD", 10);
    job.onPlanned(100);
    job.onWorkersHeld(List.of("w0"));
    job.onStateChanged("RUNNING");
    job.onStepCompleted(
        new StepMetrics(
            1, 1, 2.0, 1e-4, 0.5, 100, 8, 50, 60, new StepMetrics.PhaseSeconds(1, 0.1, 0.1)));
    job.onBroadcast(Duration.ofMillis(5));
    job.onEvaluated("heldout", 1.9);
    job.onCost(0.5, 50);
    job.onEpochCompleted(1, 0.5);
    job.onCheckpointWritten(1, Duration.ofMillis(30));
    job.onSkippedStep(SkipReason.NON_FINITE_GRADIENT);
    metrics.onWorkersChanged(1, 1);
    metrics.onWorkerLost();
    metrics.registerDroppedFrames("back_pressure", () -> 0);
    metrics.addGradientBytes("fp32", 1024);
  }

  static void exerciseWorker(WorkerMetrics metrics) {
    metrics.onModelLoaded(Duration.ofSeconds(2));
    metrics.forJob("j1").onShareComputed(Duration.ofMillis(900), 100);
  }
}
