package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Prometheus server scrapes a coordinator and a worker while a job trains; every query of
 * the dashboard and every selector of every alert must return data, and a stalled job must fire its
 * alert.
 */
class ObservabilityIT {

  @TempDir Path work;

  @Test
  void prometheusSeesEveryDashboardQueryAndAlertInputAndFiresOnAStall() throws Exception {
    Optional<Path> binary = DeployFiles.onPath("prometheus");
    assumeTrue(
        binary.isPresent(),
        "the prometheus server is not installed (apt-get install prometheus; .ci/run installs it)");

    try (LiveFleet fleet = LiveFleet.start(work)) {
      ObservedRun.verify(
          binary.get(),
          work.resolve("prometheus"),
          fleet.coordinatorTarget(),
          fleet.workerTargets(),
          fleet.jobId(),
          fleet::stall,
          3,
          Duration.ofSeconds(45));
    }
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
              workerMetrics,
              WorkerRuntime.DEFAULT_LEAVE_GRACE);
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
