package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneEndpoints;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cluster.CoordinatorNode;
import dev.lorafleet.coordinator.cluster.DataPlaneExchange;
import dev.lorafleet.worker.cluster.WorkerExchange;
import dev.lorafleet.worker.cluster.WorkerNode;
import dev.lorafleet.worker.cluster.WorkerRuntime;
import dev.lorafleet.worker.cluster.WorkerSettings;
import dev.lorafleet.worker.metrics.DeviceMemoryProbe;
import dev.lorafleet.worker.metrics.MetricsServer;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import dev.lorafleet.worker.transport.WorkerDataPlane;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
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

    try (LiveFleet fleet = LiveFleet.start(work)) {
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
   * A real coordinator node (actors, Aeron data plane, job runner, checkpoints) and a real worker
   * node in this JVM, each serving its metrics on its own port as the {@code coordinator} and
   * {@code worker} commands do; the worker trains with {@link ScriptedCompute}, which a test can
   * stall. The job is long enough to still run when the test stalls it.
   */
  static final class LiveFleet implements AutoCloseable {
    private final List<AutoCloseable> open = new ArrayList<>();
    private final ScriptedCompute.Gate gate = new ScriptedCompute.Gate();
    private MetricsServer coordinatorServer;
    private MetricsServer workerServer;
    private String jobId;

    static LiveFleet start(Path work) throws Exception {
      LiveFleet fleet = new LiveFleet();
      try {
        fleet.startAndSubmit(work);
      } catch (Exception | Error e) {
        fleet.close();
        throw e;
      }
      return fleet;
    }

    private void startAndSubmit(Path work) throws Exception {
      Path jobDir = Files.createDirectories(work.resolve("job"));
      Files.createDirectories(jobDir.resolve("model"));
      Files.writeString(
          jobDir.resolve("model/config.json"), "{\"architectures\": [\"LlamaForCausalLM\"]}");
      Files.writeString(jobDir.resolve("train.jsonl"), jsonl(12));
      Files.writeString(jobDir.resolve("eval.jsonl"), jsonl(4));
      String specText =
          """
          name: observed
          model: model
          datasets:
            - {path: train.jsonl, weight: 1.0}
          eval:
            - {name: heldout, path: eval.jsonl}
          lora: {r: 2, alpha: 4, dropout: 0.0, targetModules: [q_proj]}
          training: {epochs: 5000, learningRate: 0.05, scheduler: constant, warmupSteps: 0,
                     globalBatchSize: 4, microBatchSize: 2, maxSeqLen: 64, seed: 7,
                     weightDecay: 0.0, maxGradNorm: 1.0}
          cluster: {workers: 1, gpusPerWorker: 1, pricePerGpuHour: 2.5, currency: USD}
          checkpoint: {everySteps: 2, keepLast: 2}
          """;

      CoordinatorMetrics metrics = CoordinatorMetrics.create();
      DataPlaneConfig planeConfig =
          DataPlaneConfig.defaults()
              .withPorts(0, 0)
              .withDriverDirectoryParent(Files.createDirectories(work.resolve("aeron")));
      CoordinatorDataPlane plane = CoordinatorDataPlane.open(planeConfig);
      DataPlaneExchange exchange = new DataPlaneExchange(plane);
      metrics.registerDataPlane(plane::counters, WireDtype.FP32);
      int clusterPort = PrometheusServer.freePort();
      CoordinatorNode.Settings defaults =
          CoordinatorNode.Settings.defaults("127.0.0.1", clusterPort, work.resolve("data"));
      CoordinatorNode.Settings settings =
          new CoordinatorNode.Settings(
              defaults.host(),
              defaults.clusterPort(),
              defaults.dataDir(),
              jobDir,
              defaults.timing(),
              (jobSettings, modelJson, length) -> new TestingRawFormat(),
              null,
              metrics);
      coordinatorServer = MetricsServer.start("127.0.0.1", 0, metrics.registry());
      open.add(coordinatorServer);
      CoordinatorNode node = CoordinatorNode.start(settings, exchange, exchange);
      open.add(node);

      PrometheusRegistry workerRegistry = new PrometheusRegistry();
      WorkerMetrics workerMetrics =
          new WorkerMetrics(
              workerRegistry, "worker-0", DeviceMemoryProbe.forDevices(List.of(Device.cpu())));
      workerServer = MetricsServer.start("127.0.0.1", 0, workerRegistry);
      open.add(workerServer);
      WorkerExchange.Factory workerExchange =
          (endpoints, id) -> {
            DataPlaneEndpoints parsed = DataPlaneEndpoints.parse(endpoints);
            WorkerDataPlane workerPlane =
                WorkerDataPlane.connect(
                    parsed, id, planeConfig.withDriverDirectoryParent(work.resolve("aeron")));
            workerMetrics.registerDataPlane(workerPlane::counters);
            return new PlainWorkerExchange(workerPlane);
          };
      ActorSystem<WorkerNode.Command> worker =
          WorkerRuntime.start(
              "127.0.0.1",
              "127.0.0.1",
              clusterPort,
              new WorkerSettings(
                  "worker-0",
                  "node-0",
                  1,
                  "cpu",
                  "127.0.0.1",
                  work.resolve("cache"),
                  Duration.ofMinutes(2)),
              ScriptedCompute.factory(gate),
              workerExchange,
              workerMetrics);
      open.add(
          () -> {
            gate.release();
            worker.terminate();
            worker.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
          });

      JobSpec spec = new JobSpecParser().parse(specText, "observed.yaml");
      SubmitResult result =
          node.service().submit(spec, specText).toCompletableFuture().get(1, TimeUnit.MINUTES);
      assertThat(result).as("submit").isInstanceOf(SubmitResult.Accepted.class);
      jobId = ((SubmitResult.Accepted) result).job().id();
    }

    private static String jsonl(int n) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < n; i++) {
        b.append("{\"instruction\": \"q").append(i).append("\", \"output\": \"a\"}\n");
      }
      return b.toString();
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

    /** Every following share hangs, as on a wedged device: the job stays RUNNING, no step ends. */
    void stall() {
      gate.stall();
    }

    @Override
    public void close() {
      gate.release();
      for (int i = open.size() - 1; i >= 0; i--) {
        try {
          open.get(i).close();
        } catch (Exception e) {
          // keep closing the rest; the test's own failure (if any) is the one worth reading
        }
      }
    }
  }

  /** The worker data plane as the worker node needs it, without the production factory's config. */
  private record PlainWorkerExchange(WorkerDataPlane plane) implements WorkerExchange {
    @Override
    public float[] awaitParameters(String jobId, long step, Duration timeout) {
      return plane.awaitParameters(jobId, step, timeout).values().clone();
    }

    @Override
    public void sendGradient(
        String jobId, long step, int round, float[] sum, long tokens, double lossSum) {
      plane.sendGradient(jobId, step, round, sum, tokens, lossSum, WireDtype.FP32);
    }

    @Override
    public void close() {
      plane.close();
    }
  }
}
