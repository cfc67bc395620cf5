package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
import dev.lorafleet.coordinator.job.FailurePolicy;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process whose model code throws (test-only fault injection): each failure uses one of
 * the job's error budget and the step is tried again; the second failure puts the worker aside, the
 * job goes on with the other worker, and {@code GET /api/v1/workers} shows it {@code QUARANTINED}.
 * Every example is still trained once per epoch.
 */
class WorkerErrorIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SAMPLES = 45;
  private static final int EPOCHS = 8;
  private static final int STEPS_PER_EPOCH = 6;

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
        IntStream.range(0, SAMPLES)
            .mapToObj(i -> "{\"instruction\":\"q" + i + "\",\"output\":\"a\"}")
            .collect(Collectors.joining("\n")));
    return "name: quad\n"
        + "model: "
        + model
        + "\n"
        + "datasets: [{path: "
        + train
        + "}]\n"
        + "lora: {r: 2, alpha: 4, dropout: 0.0, targetModules: [q_proj]}\n"
        + "training: {epochs: "
        + EPOCHS
        + ", learningRate: 0.05, scheduler: cosine, warmupSteps: 2,"
        + " globalBatchSize: 8, microBatchSize: 2, maxSeqLen: 64, seed: 3}\n"
        + "cluster: {workers: "
        + workers
        + ", gpusPerWorker: 1, pricePerGpuHour: 2.0, currency: CNY}\n"
        + "checkpoint: {everySteps: 100, keepLast: 2}\n";
  }

  private String submit(CoordinatorNode node, int workers) throws Exception {
    String text = spec(workers);
    JobSpec spec = new JobSpecParser().parse(text);
    SubmitResult result = node.service().submit(spec, text).toCompletableFuture().join();
    assertThat(result).isInstanceOf(SubmitResult.Accepted.class);
    return ((SubmitResult.Accepted) result).job().id();
  }

  private JobView awaitTerminal(CoordinatorNode node, String id) {
    AtomicReference<JobView> view = new AtomicReference<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              view.set(node.service().get(id).toCompletableFuture().join());
              return view.get().state().isTerminal();
            });
    return view.get();
  }

  private List<JsonNode> events(String id) throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String line :
        Files.readAllLines(dir.resolve("data/jobs").resolve(id).resolve("events.jsonl"))) {
      events.add(JSON.readTree(line));
    }
    return events;
  }

  @Test
  void shouldRetryAWorkersCrashAndQuarantineItWhenItKeepsFailing() throws Exception {
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
                new JobRunner.Timing(
                    Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(30)),
                (s, json, length) -> format,
                null,
                defaults.metrics())
            .withFailures(FailurePolicy.defaults()); // budget 3; aside after 2 errors
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(
            DataPlaneConfig.defaults()
                .withPorts(0, 0)
                .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron"))));
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    try (CoordinatorNode node = CoordinatorNode.start(settings, exchange, exchange);
        LocalWorkers workers =
            LocalWorkers.start(
                2,
                port,
                TestingWorkerMain.class.getName(),
                dir.resolve("logs"),
                dir.resolve("cache"),
                i ->
                    i == 1
                        ? List.of("--devices", "1", "--test-fail-steps", "2")
                        : List.of("--devices", "1"))) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> node.service().workers().toCompletableFuture().join().size() == 2);
      String id = submit(node, 2);

      JobView done = awaitTerminal(node, id);

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(done.epochs()).hasSize(EPOCHS);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(SAMPLES);
      }
      List<JsonNode> events = events(id);
      List<JsonNode> errors =
          events.stream().filter(e -> e.get("type").asText().equals("worker_error")).toList();
      assertThat(errors)
          .hasSize(2)
          .allSatisfy(
              e -> {
                assertThat(e.get("worker").asText()).startsWith("local-1");
                assertThat(e.get("error").asText()).contains("injected crash");
                assertThat(e.get("budget").asInt()).isEqualTo(3);
              });
      JsonNode aside =
          events.stream()
              .filter(e -> e.get("type").asText().equals("worker_quarantined"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no worker_quarantined event"));
      long failedStep = errors.get(0).get("step").asLong();
      Instant firstError = Instant.parse(errors.get(0).get("time").asText());
      Instant quarantinedAt = Instant.parse(aside.get("time").asText());
      Instant recoveredAt =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .filter(e -> e.get("step").asLong() == failedStep)
              .map(e -> Instant.parse(e.get("time").asText()))
              .findFirst()
              .orElseThrow();
      List<Long> steps =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .map(e -> e.get("step").asLong())
              .toList();
      assertThat(steps).doesNotHaveDuplicates().hasSize(EPOCHS * STEPS_PER_EPOCH);
      // the API shows the worker put aside; it is alive, not gone
      List<WorkerView> members = node.service().workers().toCompletableFuture().join();
      assertThat(members)
          .filteredOn(w -> w.name().equals("local-1"))
          .singleElement()
          .satisfies(w -> assertThat(w.state()).isEqualTo(WorkerView.State.QUARANTINED));
      assertThat(workers.processes().get(1).isAlive()).isTrue();

      // the healthy worker alone reaches the same adapter (float sums in another order)
      String reference = submit(node, 1);
      JobView straight = awaitTerminal(node, reference);
      assertThat(straight.state()).isEqualTo(JobState.SUCCEEDED);
      float[] a = format.read(dir.resolve("data/jobs").resolve(id).resolve("final"))[0];
      float[] b = format.read(dir.resolve("data/jobs").resolve(reference).resolve("final"))[0];
      double maxRelative = 0;
      for (int i = 0; i < a.length; i++) {
        assertThat(a[i]).isCloseTo(b[i], within(1e-4f * Math.max(1f, Math.abs(b[i]))));
        maxRelative =
            Math.max(maxRelative, Math.abs(a[i] - b[i]) / Math.max(1e-12, Math.abs(b[i])));
      }
      System.out.printf(
          "FAULT worker_model_error detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          Duration.between(firstError, quarantinedAt).toMillis() / 1e3,
          Duration.between(firstError, recoveredAt).toMillis() / 1e3,
          maxRelative);
    }
  }
}
