package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.worker.metrics.DeviceMemoryProbe;
import dev.lorafleet.worker.metrics.MetricsServer;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Prometheus server scrapes a coordinator and a worker while a job trains; every query of
 * the dashboard and every selector of every alert must return data, and a stalled job must fire its
 * alert.
 */
class ObservabilityIT {

  /** Dashboard queries need a few scrapes (1 s apart) inside their rate windows. */
  private static final String RATE_WINDOW = "10s";

  @TempDir Path work;

  @Test
  void prometheusSeesEveryDashboardQueryAndAlertInputAndFiresOnAStall() throws Exception {
    Optional<Path> binary = DeployFiles.onPath("prometheus");
    assumeTrue(
        binary.isPresent(),
        "the prometheus server is not installed (apt-get install prometheus; .ci/run installs it)");

    try (SyntheticFleet fleet = SyntheticFleet.start()) {
      Path rules = work.resolve("alerts.yaml");
      Files.writeString(rules, fastRules(Files.readString(DeployFiles.alerts())));
      Path config = work.resolve("prometheus.yaml");
      Files.writeString(config, scrapeConfig(fleet.coordinatorTarget(), fleet.workerTargets()));

      try (PrometheusServer prometheus = PrometheusServer.start(binary.get(), config, work)) {
        awaitTargetsUp(prometheus, 1 + fleet.workerTargets().size());

        Map<String, String> queries = new LinkedHashMap<>();
        DeployFiles.dashboardQueries(DeployFiles.json(DeployFiles.dashboard()))
            .forEach((where, expr) -> queries.put("dashboard " + where, dashboardToPromQl(expr)));
        DeployFiles.ruleExpressions(DeployFiles.yaml(DeployFiles.alerts()))
            .forEach(
                (rule, expr) -> {
                  // the expression must be valid PromQL; it returns data only when the alert fires
                  prometheus.query(expr);
                  PromQl.selectors(expr)
                      .forEach(sel -> queries.put("rule " + rule + ": " + sel, sel));
                });
        awaitEveryQueryHasData(prometheus, queries);

        assertThat(firing(prometheus, "LorafleetJobStalled"))
            .as("no stall while the job makes steps")
            .isEmpty();

        fleet.stall();

        await("LorafleetJobStalled fires for " + fleet.jobId())
            .atMost(Duration.ofSeconds(40))
            .pollInterval(Duration.ofMillis(500))
            .untilAsserted(
                () ->
                    assertThat(firing(prometheus, "LorafleetJobStalled"))
                        .as("firing alerts; targets " + prometheus.targets())
                        .anySatisfy(
                            a ->
                                assertThat(a.path("labels").path("job").asText())
                                    .isEqualTo(fleet.jobId())));
      }
    }
  }

  /**
   * alerts.yaml with test-sized patience: every {@code for:} becomes 1 s and the stall threshold 3
   * s. Fails if the stall expression no longer has the shape this substitution expects.
   */
  static String fastRules(String alerts) {
    Matcher stall =
        Pattern.compile("(time\\(\\) - lorafleet_last_progress_timestamp_seconds > )\\d+")
            .matcher(alerts);
    assertThat(stall.find()).as("stall threshold in alerts.yaml").isTrue();
    String fast = stall.replaceFirst("$13");
    return fast.replaceAll("(?m)^(\\s+for: )\\S+$", "$11s");
  }

  static String scrapeConfig(String coordinator, List<String> workers) {
    return """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - alerts.yaml
        scrape_configs:
          - job_name: lorafleet-coordinator
            honor_labels: true
            static_configs:
              - targets: ["%s"]
          - job_name: lorafleet-workers
            honor_labels: true
            static_configs:
              - targets: [%s]
        """
        .formatted(
            coordinator, String.join(", ", workers.stream().map(w -> "\"" + w + "\"").toList()));
  }

  /** Grafana's variables as Prometheus would see them for this test's single job. */
  static String dashboardToPromQl(String expr) {
    Matcher labelValues =
        Pattern.compile(
                "^\\s*label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*(\\w+)\\s*\\)\\s*$")
            .matcher(expr);
    if (labelValues.matches()) {
      return "count by (" + labelValues.group(2) + ") (" + labelValues.group(1) + ")";
    }
    return expr.replace("$__rate_interval", RATE_WINDOW)
        .replace("$__interval", "1s")
        .replace("$job", ".+");
  }

  private static void awaitTargetsUp(PrometheusServer prometheus, int count) {
    await("all " + count + " targets up")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () ->
                assertThat(prometheus.query("up == 1"))
                    .as("targets " + prometheus.targets())
                    .hasSize(count));
  }

  private static void awaitEveryQueryHasData(
      PrometheusServer prometheus, Map<String, String> queries) {
    List<String> empty = new ArrayList<>(queries.keySet());
    try {
      await("every dashboard query and alert selector returns data")
          .atMost(Duration.ofSeconds(45))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                empty.removeIf(where -> prometheus.query(queries.get(where)).size() > 0);
                return empty.isEmpty();
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      List<String> detail = new ArrayList<>();
      empty.forEach(where -> detail.add(where + "  =>  " + queries.get(where)));
      throw new AssertionError(
          "no data after 45 s for:\n  "
              + String.join("\n  ", detail)
              + "\ntargets: "
              + prometheus.targets(),
          e);
    }
  }

  private static List<JsonNode> firing(PrometheusServer prometheus, String alert) {
    return prometheus.alerts().stream()
        .filter(a -> a.path("labels").path("alertname").asText().equals(alert))
        .filter(a -> a.path("state").asText().equals("firing"))
        .toList();
  }

  /**
   * A coordinator's and a worker's metrics, each on its own port, driven as a short job would drive
   * them: a step every 100 ms with loss, cost, evals and checkpoints, until {@link #stall()}.
   */
  static final class SyntheticFleet implements AutoCloseable {
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
    private final AtomicBoolean stepping = new AtomicBoolean(true);
    private final MetricsServer coordinatorServer;
    private final MetricsServer workerServer;
    private final String jobId = "it-job";

    private SyntheticFleet(MetricsServer coordinatorServer, MetricsServer workerServer) {
      this.coordinatorServer = coordinatorServer;
      this.workerServer = workerServer;
    }

    static SyntheticFleet start() {
      PrometheusRegistry coordinatorRegistry = new PrometheusRegistry();
      PrometheusRegistry workerRegistry = new PrometheusRegistry();
      CoordinatorMetrics coordinator =
          new CoordinatorMetrics(coordinatorRegistry, Clock.systemUTC());
      WorkerMetrics worker =
          new WorkerMetrics(
              workerRegistry, "worker-0", DeviceMemoryProbe.forDevices(List.of(Device.cpu())));
      DataPlaneCounters counters = new DataPlaneCounters(10, 4096, 0, 1, 0, 0, 0, 0, 0, 0);
      coordinator.registerDataPlane(() -> counters, WireDtype.FP32);
      worker.registerDataPlane(() -> counters);
      SyntheticFleet fleet =
          new SyntheticFleet(
              MetricsServer.start("127.0.0.1", 0, coordinatorRegistry),
              MetricsServer.start("127.0.0.1", 0, workerRegistry));

      CoordinatorMetrics.Job job = coordinator.job(fleet.jobId, "USD", 5);
      job.onPlanned(10_000);
      job.onWorkersHeld(List.of("worker-0"));
      job.onStateChanged("RUNNING");
      coordinator.onWorkersChanged(1, 1);
      worker.onModelLoaded(Duration.ofMillis(1200));
      WorkerMetrics.Job share = worker.forJob(fleet.jobId);
      long[] step = {0};
      fleet.clock.scheduleAtFixedRate(
          () -> {
            if (!fleet.stepping.get()) {
              return;
            }
            long s = ++step[0];
            share.onShareComputed(Duration.ofMillis(80), 512);
            job.onStepCompleted(
                new StepMetrics(
                    s,
                    1 + (int) (s / 20),
                    3.0 / Math.sqrt(s),
                    2e-4,
                    0.8,
                    512,
                    8,
                    6400,
                    (10_000 - s) * 0.1,
                    new StepMetrics.PhaseSeconds(0.08, 0.01, 0.005)));
            job.onBroadcast(Duration.ofMillis(5));
            job.onCost(s * 0.01, 100);
            if (s % 5 == 0) {
              job.onCheckpointWritten(s, Duration.ofMillis(20));
              job.onEvaluated("heldout", 2.5 / Math.sqrt(s));
            }
            if (s % 20 == 0) {
              job.onEpochCompleted((int) (s / 20), 0.2);
            }
          },
          0,
          100,
          TimeUnit.MILLISECONDS);
      return fleet;
    }

    String coordinatorTarget() {
      return "127.0.0.1:" + coordinatorServer.port();
    }

    List<String> workerTargets() {
      return List.of("127.0.0.1:" + workerServer.port());
    }

    String jobId() {
      return jobId;
    }

    /** The job stops making steps but stays RUNNING, as when every worker hangs. */
    void stall() {
      stepping.set(false);
    }

    @Override
    public void close() {
      clock.shutdownNow();
      coordinatorServer.close();
      workerServer.close();
    }
  }
}
