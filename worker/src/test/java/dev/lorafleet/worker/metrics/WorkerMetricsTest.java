package dev.lorafleet.worker.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.transport.DataPlaneCounters;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkerMetricsTest {

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final DeviceMemoryProbe twoGpus =
      () ->
          List.of(
              new DeviceMemoryProbe.DeviceMemory("gpu0", 10_000, 80_000),
              new DeviceMemoryProbe.DeviceMemory("gpu1", 20_000, 80_000));
  private final WorkerMetrics metrics = new WorkerMetrics(registry, "node-a", twoGpus);
  private final MetricsServer server = MetricsServer.start("127.0.0.1", 0, registry);

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void exposesShareComputeTimeTokensAndThroughputPerJob() throws Exception {
    WorkerMetrics.Job job = metrics.forJob("job-1");
    job.onShareComputed(Duration.ofMillis(500), 1000);
    job.onShareComputed(Duration.ofMillis(250), 1000);

    Scrape scrape = Scrape.of(server.url());

    Map<String, String> labels = Map.of("worker", "node-a", "job", "job-1");
    assertThat(scrape.types()).containsEntry("lorafleet_worker_step_compute_seconds", "histogram");
    assertThat(scrape.value("lorafleet_worker_step_compute_seconds_count", labels)).isEqualTo(2);
    assertThat(scrape.value("lorafleet_worker_step_compute_seconds_sum", labels)).isEqualTo(0.75);
    assertThat(scrape.types()).containsEntry("lorafleet_worker_tokens_total", "counter");
    assertThat(scrape.value("lorafleet_worker_tokens_total", labels)).isEqualTo(2000);
    assertThat(scrape.types()).containsEntry("lorafleet_worker_tokens_per_second", "gauge");
    assertThat(scrape.value("lorafleet_worker_tokens_per_second", labels)).isEqualTo(4000);
  }

  @Test
  void readsDeviceMemoryAtScrapeTime() throws Exception {
    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types())
        .containsEntry("lorafleet_worker_device_memory_used_bytes", "gauge")
        .containsEntry("lorafleet_worker_device_memory_total_bytes", "gauge");
    assertThat(
            scrape.value(
                "lorafleet_worker_device_memory_used_bytes",
                Map.of("worker", "node-a", "device", "gpu1")))
        .isEqualTo(20_000);
    assertThat(
            scrape.value(
                "lorafleet_worker_device_memory_total_bytes",
                Map.of("worker", "node-a", "device", "gpu0")))
        .isEqualTo(80_000);
  }

  @Test
  void exposesModelLoadSeconds() throws Exception {
    metrics.onModelLoaded(Duration.ofMillis(1500));

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.value("lorafleet_worker_model_load_seconds", Map.of("worker", "node-a")))
        .isEqualTo(1.5);
  }

  @Test
  void forgetsAFinishedJobsSeries() throws Exception {
    metrics.forJob("old").onShareComputed(Duration.ofMillis(10), 5);
    metrics.forJob("new").onShareComputed(Duration.ofMillis(10), 5);

    metrics.forgetJob("old");

    Scrape scrape = Scrape.of(server.url());
    assertThat(scrape.find("lorafleet_worker_tokens_total", Map.of("job", "old"))).isEmpty();
    assertThat(scrape.find("lorafleet_worker_tokens_total", Map.of("job", "new"))).hasSize(1);
  }

  @Test
  void exposesTheDataPlaneDropsByReasonAtScrapeTime() throws Exception {
    DataPlaneCounters[] now = {new DataPlaneCounters(10, 4000, 1, 0, 0, 0, 0, 0, 0, 0)};
    metrics.registerDataPlane(() -> now[0]);
    now[0] = new DataPlaneCounters(12, 4800, 1, 2, 0, 0, 3, 4, 0, 0);

    Scrape scrape = Scrape.of(server.url());

    assertThat(scrape.types()).containsEntry("lorafleet_transport_dropped_frames_total", "counter");
    Map<String, Double> byReason = new java.util.TreeMap<>();
    scrape
        .find("lorafleet_transport_dropped_frames_total", Map.of("worker", "node-a"))
        .forEach(s -> byReason.put(s.labels().get("reason"), s.value()));
    assertThat(byReason)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "duplicate", 1.0,
                "stale_step", 2.0,
                "unknown_job", 0.0,
                "unknown_worker", 0.0,
                "malformed", 3.0,
                "checksum", 4.0));
  }

  @Test
  void servesJvmMetricsOnce() throws Exception {
    // a second server on the same registry must not register the JVM collectors twice
    try (MetricsServer second = MetricsServer.start("127.0.0.1", 0, registry)) {
      Scrape scrape = Scrape.of(second.url());
      assertThat(scrape.types()).containsKey("jvm_memory_used_bytes");
      assertThat(scrape.find("process_resident_memory_bytes", Map.of())).hasSize(1);
    }
  }

  @Test
  void answersTheHealthCheckThatKubernetesProbesUse() throws Exception {
    java.net.http.HttpResponse<String> health =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + server.port() + "/-/healthy"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());

    assertThat(health.statusCode()).isEqualTo(200);
  }

  @Test
  void cpuProbeReportsTheProcessResidentSetAgainstPhysicalMemory() {
    DeviceMemoryProbe.DeviceMemory cpu = DeviceMemoryProbe.cpu();

    assertThat(cpu.device()).isEqualTo("cpu");
    assertThat(cpu.usedBytes()).isPositive();
    assertThat(cpu.totalBytes()).isGreaterThan(cpu.usedBytes());
    // the JVM heap in use is part of the resident set
    assertThat(cpu.usedBytes())
        .isGreaterThanOrEqualTo(
            Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory() - (64L << 20));
  }

  @Test
  void refusesAPortThatIsTaken() {
    assertThatThrownBy(
            () -> MetricsServer.start("127.0.0.1", server.port(), new PrometheusRegistry()))
        .hasMessageContaining("cannot serve metrics on 127.0.0.1:" + server.port())
        .hasMessageContaining("--metrics-port");
  }
}
