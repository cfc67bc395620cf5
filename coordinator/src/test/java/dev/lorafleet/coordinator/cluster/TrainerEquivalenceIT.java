package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.cli.Main;
import dev.lorafleet.worker.data.DemoDataWriter;
import dev.lorafleet.worker.data.TinyTokenizerWriter;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster computes what one machine computes: the same job (dropout 0, same seed) trained by
 * two worker processes and by one gives the same final PEFT adapter within 1e-4 relative.
 */
class TrainerEquivalenceIT {
  @TempDir Path dir;

  private String spec(int workers) {
    return "name: equivalence\n"
        + "model: model\n"
        + "datasets: [{path: data/train.jsonl, weight: 3}, {path: data/general.jsonl, weight: 1}]\n"
        + "eval: [{name: reverse, path: data/eval.jsonl}]\n"
        + "lora: {r: 4, alpha: 8, dropout: 0.0, targetModules: [q_proj, v_proj]}\n"
        + "training: {epochs: 2, learningRate: 5.0e-3, scheduler: linear, warmupSteps: 1,"
        + " globalBatchSize: 16, microBatchSize: 4, maxSeqLen: 96, seed: 11, weightDecay: 0.01}\n"
        + "cluster: {workers: "
        + workers
        + ", gpusPerWorker: 1, pricePerGpuHour: 1.0, currency: USD}\n"
        + "checkpoint: {everySteps: 100, keepLast: 2}\n";
  }

  private JobView run(CoordinatorNode node, int workers) throws Exception {
    String text = spec(workers);
    JobSpec spec = new JobSpecParser().parse(text);
    SubmitResult result = node.service().submit(spec, text).toCompletableFuture().join();
    assertThat(result).as(String.valueOf(result)).isInstanceOf(SubmitResult.Accepted.class);
    String id = ((SubmitResult.Accepted) result).job().id();
    AtomicReference<JobView> view = new AtomicReference<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(100))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> {
              view.set(node.service().get(id).toCompletableFuture().join());
              return view.get().state().isTerminal();
            });
    return view.get();
  }

  @Test
  void twoWorkerProcessesGiveTheAdapterOfOne() throws Exception {
    new TinyModelWriter()
        .optVocabSize(TinyTokenizerWriter.DEFAULT_VOCAB_SIZE)
        .write(dir.resolve("model"));
    new TinyTokenizerWriter().write(dir.resolve("model"));
    new DemoDataWriter(36, 8, 12, 4, 5L).write(dir.resolve("data"));
    int port = LocalWorkers.freePort();
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("runs"));
    CoordinatorNode.Settings settings =
        new CoordinatorNode.Settings(
            defaults.host(),
            port,
            defaults.dataDir(),
            dir,
            defaults.timing(),
            defaults.formats(),
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
                Main.class.getName(),
                dir.resolve("logs"),
                dir.resolve("cache"),
                List.of("--devices", "1"))) {
      JobView two = run(node, 2);
      assertThat(two.state()).as(String.valueOf(two.error())).isEqualTo(JobState.SUCCEEDED);
      JobView one = run(node, 1);
      assertThat(one.state()).as(String.valueOf(one.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(two.epochs()).allSatisfy(e -> assertThat(e.samples()).isEqualTo(48));
      assertThat(two.epochs().get(0).workers()).isEqualTo(2);
      assertThat(one.epochs().get(0).workers()).isEqualTo(1);

      ModelConfig model = ModelConfig.load(dir.resolve("model"));
      float[] a =
          PeftAdapter.read(dir.resolve("runs/jobs").resolve(two.id()).resolve("final"), model)
              .parameters();
      float[] b =
          PeftAdapter.read(dir.resolve("runs/jobs").resolve(one.id()).resolve("final"), model)
              .parameters();
      assertThat(a).hasSameSizeAs(b);
      double maxRel = 0;
      double norm = 0;
      for (int i = 0; i < a.length; i++) {
        norm = Math.max(norm, Math.abs(b[i]));
      }
      for (int i = 0; i < a.length; i++) {
        maxRel = Math.max(maxRel, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * norm));
      }
      System.out.printf("1 vs 2 worker processes: largest relative difference %.3g%n", maxRel);
      assertThat(maxRel).as("largest relative difference of the adapters").isLessThan(1e-4);
      // training moved the adapter: B starts at zero
      assertThat(b).isNotEqualTo(new float[b.length]);
    }
  }
}
