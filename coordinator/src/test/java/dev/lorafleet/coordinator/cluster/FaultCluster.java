package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
import dev.lorafleet.coordinator.job.JobRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;

/**
 * A coordinator in this JVM (real cluster seed, real Aeron data plane, raw checkpoints) and batches
 * of real worker processes running the quadratic stand-in trainer: what the fault ITs share. The
 * job's model directory can slow every share down ({@code step-millis}) so a test acts while the
 * job still runs, on a fast machine as on a slow one.
 */
final class FaultCluster implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final int port;
  private final TestingRawFormat format = new TestingRawFormat();
  private final CoordinatorNode node;
  private final List<LocalWorkers> batches = new ArrayList<>();

  private FaultCluster(Path dir, int port, CoordinatorNode node) {
    this.dir = dir;
    this.port = port;
    this.node = node;
  }

  /** Starts the coordinator with {@code timing} (its step watchdog, pause delay, …). */
  static FaultCluster start(Path dir, JobRunner.Timing timing) throws IOException {
    int port = LocalWorkers.freePort();
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("data"));
    FaultCluster[] self = new FaultCluster[1];
    CoordinatorNode.Settings settings =
        new CoordinatorNode.Settings(
            defaults.host(),
            port,
            defaults.dataDir(),
            defaults.specBaseDir(),
            timing,
            (s, json, length) -> self[0].format,
            null,
            defaults.metrics());
    DataPlaneExchange exchange =
        new DataPlaneExchange(
            CoordinatorDataPlane.open(
                DataPlaneConfig.defaults()
                    .withPorts(0, 0)
                    .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron")))));
    self[0] = new FaultCluster(dir, port, CoordinatorNode.start(settings, exchange, exchange));
    return self[0];
  }

  CoordinatorNode node() {
    return node;
  }

  /** Starts {@code count} more worker processes (logs under {@code logs-<batch>}). */
  LocalWorkers workers(String batch, int count) throws IOException {
    LocalWorkers workers =
        LocalWorkers.start(
            count,
            port,
            TestingWorkerMain.class.getName(),
            dir.resolve("logs-" + batch),
            dir.resolve("cache-" + batch),
            List.of("--devices", "1"));
    batches.add(workers);
    return workers;
  }

  /**
   * A job of 45 examples in steps of 8 (6 steps an epoch), trained by {@code workers} workers for
   * {@code epochs} epochs, each share taking at least {@code stepMillis}.
   */
  String spec(int workers, int epochs, long stepMillis) throws IOException {
    Path model = dir.resolve("model-" + stepMillis);
    Files.createDirectories(model);
    Files.writeString(
        model.resolve("config.json"),
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":16,\"intermediate_size\":32,"
            + "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
            + "\"vocab_size\":64}");
    if (stepMillis > 0) {
      Files.writeString(model.resolve("step-millis"), Long.toString(stepMillis));
    }
    Path train = dir.resolve("train.jsonl");
    Files.writeString(
        train,
        IntStream.range(0, 45)
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
        + epochs
        + ", learningRate: 0.05, scheduler: cosine, warmupSteps: 2,"
        + " globalBatchSize: 8, microBatchSize: 2, maxSeqLen: 64, seed: 3}\n"
        + "cluster: {workers: "
        + workers
        + ", gpusPerWorker: 1, pricePerGpuHour: 2.0, currency: CNY}\n"
        + "checkpoint: {everySteps: 100, keepLast: 2}\n";
  }

  String submit(String text) throws Exception {
    JobSpec spec = new JobSpecParser().parse(text);
    SubmitResult result = node.service().submit(spec, text).toCompletableFuture().join();
    assertThat(result).isInstanceOf(SubmitResult.Accepted.class);
    return ((SubmitResult.Accepted) result).job().id();
  }

  JobView view(String id) {
    return node.service().get(id).toCompletableFuture().join();
  }

  JobView awaitTerminal(String id, Duration bound) {
    return awaitView(id, bound, v -> v.state().isTerminal());
  }

  JobView awaitView(String id, Duration bound, Predicate<JobView> condition) {
    AtomicReference<JobView> view = new AtomicReference<>();
    Awaitility.await()
        .atMost(bound)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              view.set(view(id));
              return condition.test(view.get());
            });
    return view.get();
  }

  Path jobDir(String id) {
    return dir.resolve("data/jobs").resolve(id);
  }

  List<JsonNode> events(String id) throws IOException {
    List<JsonNode> events = new ArrayList<>();
    Path file = jobDir(id).resolve("events.jsonl");
    if (!Files.isRegularFile(file)) {
      return events;
    }
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank()) {
        events.add(JSON.readTree(line));
      }
    }
    return events;
  }

  /** The first event of {@code type}, waiting up to {@code bound} for it. */
  JsonNode awaitEvent(String id, String type, Duration bound) {
    AtomicReference<JsonNode> found = new AtomicReference<>();
    Awaitility.await()
        .atMost(bound)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              found.set(firstEvent(id, type).orElse(null));
              return found.get() != null;
            });
    return found.get();
  }

  Optional<JsonNode> firstEvent(String id, String type) throws IOException {
    return events(id).stream().filter(e -> e.get("type").asText().equals(type)).findFirst();
  }

  static Instant time(JsonNode event) {
    return Instant.parse(event.get("time").asText());
  }

  /** The global steps in the order the job's events report them. */
  List<Long> steps(String id) throws IOException {
    return events(id).stream()
        .filter(e -> e.get("type").asText().equals("step"))
        .map(e -> e.get("step").asLong())
        .toList();
  }

  float[] finalAdapter(String id) throws IOException {
    return format.read(jobDir(id).resolve("final"))[0];
  }

  /** The largest |a−b|/|b| over the adapter (|b| below 1 counts as 1). */
  static double maxRelativeDiff(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]) / Math.max(1f, Math.abs(b[i])));
    }
    return max;
  }

  @Override
  public void close() {
    batches.forEach(LocalWorkers::close);
    node.close();
  }
}
