package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole jobs over real worker processes, the real cluster and the real Aeron data plane (with a
 * quadratic stand-in for the trainer): datasets travel to the workers, every example is trained
 * once per epoch, and two worker processes reach the adapter one reaches.
 */
class DistributedRunIT {
  @TempDir Path dir;

  private String spec(int workers) throws Exception {
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    Files.writeString(
        model.resolve("config.json"),
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":16,\"intermediate_size\":32,"
            + "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
            + "\"vocab_size\":64}");
    Path train = dir.resolve("train.jsonl");
    Files.writeString(
        train,
        IntStream.range(0, 45)
            .mapToObj(i -> "{\"instruction\":\"q" + i + "\",\"output\":\"a\"}")
            .collect(Collectors.joining("\n")));
    Path eval = dir.resolve("eval.jsonl");
    Files.writeString(
        eval,
        "{\"instruction\":\"e\",\"output\":\"a\"}\n{\"instruction\":\"f\",\"output\":\"b\"}\n");
    return "name: quad\n"
        + "model: "
        + model
        + "\n"
        + "datasets: [{path: "
        + train
        + "}]\n"
        + "eval: [{name: held-out, path: "
        + eval
        + "}]\n"
        + "lora: {r: 2, alpha: 4, dropout: 0.0, targetModules: [q_proj]}\n"
        + "training: {epochs: 3, learningRate: 0.05, scheduler: cosine, warmupSteps: 2,"
        + " globalBatchSize: 8, microBatchSize: 2, maxSeqLen: 64, seed: 3}\n"
        + "cluster: {workers: "
        + workers
        + ", gpusPerWorker: 1, pricePerGpuHour: 2.0, currency: CNY}\n"
        + "checkpoint: {everySteps: 4, keepLast: 2}\n";
  }

  private JobView runJob(CoordinatorNode node, int workers) throws Exception {
    String text = spec(workers);
    JobSpec spec = new JobSpecParser().parse(text);
    SubmitResult result = node.service().submit(spec, text).toCompletableFuture().join();
    assertThat(result).isInstanceOf(SubmitResult.Accepted.class);
    String id = ((SubmitResult.Accepted) result).job().id();
    AtomicReference<JobView> view = new AtomicReference<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              view.set(node.service().get(id).toCompletableFuture().join());
              return view.get().state().isTerminal();
            });
    return view.get();
  }

  @Test
  void twoWorkerProcessesTrainEveryExampleOnceAndMatchOneWorker() throws Exception {
    int port = LocalWorkers.freePort();
    TestingRawFormat format = new TestingRawFormat();
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("data"));
    CoordinatorNode.Settings settings =
        new CoordinatorNode.Settings(
            defaults.host(),
            port,
            defaults.dataDir(),
            defaults.specBaseDir(),
            defaults.timing(),
            (s, json, length) -> format,
            null,
            defaults.metrics());
    DataPlaneExchange exchange =
        new DataPlaneExchange(
            CoordinatorDataPlane.open(
                DataPlaneConfig.defaults()
                    .withPorts(0, 0)
                    .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron")))));
    try (CoordinatorNode node = CoordinatorNode.start(settings, exchange, exchange);
        LocalWorkers workers =
            LocalWorkers.start(
                2,
                port,
                TestingWorkerMain.class.getName(),
                dir.resolve("logs"),
                dir.resolve("cache"),
                List.of("--devices", "1"))) {
      JobView two = runJob(node, 2);
      assertThat(two.state()).as(String.valueOf(two.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(two.epochs()).hasSize(3);
      for (EpochReport epoch : two.epochs()) {
        assertThat(epoch.samples()).isEqualTo(45);
        assertThat(epoch.workers()).isEqualTo(2);
        assertThat(epoch.cost()).isCloseTo(epoch.gpuHours() * 2.0, within(1e-12));
        assertThat(epoch.evalLoss().get("held-out")).isNotNull();
      }
      assertThat(two.epochs().get(2).trainLoss()).isLessThan(two.epochs().get(0).trainLoss());

      JobView one = runJob(node, 1);
      assertThat(one.state()).as(String.valueOf(one.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(one.epochs()).allSatisfy(e -> assertThat(e.workers()).isEqualTo(1));

      float[] a = format.read(dir.resolve("data/jobs").resolve(two.id()).resolve("final"))[0];
      float[] b = format.read(dir.resolve("data/jobs").resolve(one.id()).resolve("final"))[0];
      for (int i = 0; i < a.length; i++) {
        assertThat(a[i]).isCloseTo(b[i], within(1e-4f * Math.max(1f, Math.abs(b[i]))));
      }
    }
  }
}
