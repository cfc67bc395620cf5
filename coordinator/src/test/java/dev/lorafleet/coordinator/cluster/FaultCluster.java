package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.api.WorkerView;
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
import java.util.function.IntFunction;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
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
  private final CoordinatorDataPlane plane;
  private final CoordinatorNode node;
  private final List<LocalWorkers> batches = new ArrayList<>();

  private FaultCluster(Path dir, int port, CoordinatorDataPlane plane, CoordinatorNode node) {
    this.dir = dir;
    this.port = port;
    this.plane = plane;
    this.node = node;
  }

  /** Starts the coordinator with {@code timing} (its step watchdog, pause delay, …). */
  static FaultCluster start(Path dir, JobRunner.Timing timing) throws IOException {
    return start(dir, timing, UnaryOperator.identity());
  }

  /** Starts the coordinator with {@code timing} and its settings changed by {@code adjust}. */
  static FaultCluster start(
      Path dir, JobRunner.Timing timing, UnaryOperator<CoordinatorNode.Settings> adjust)
      throws IOException {
    int port = LocalWorkers.freePort();
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("data"));
    FaultCluster[] self = new FaultCluster[1];
    CoordinatorNode.Settings settings =
        adjust.apply(
            new CoordinatorNode.Settings(
                defaults.host(),
                port,
                defaults.dataDir(),
                defaults.specBaseDir(),
                timing,
                (s, json, length) -> self[0].format,
                null,
                defaults.metrics()));
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(
            DataPlaneConfig.defaults()
                .withPorts(0, 0)
                .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron"))));
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    self[0] =
        new FaultCluster(dir, port, plane, CoordinatorNode.start(settings, exchange, exchange));
    return self[0];
  }

  CoordinatorNode node() {
    return node;
  }

  /** The coordinator's data plane (its counters tell which gradients it dropped). */
  CoordinatorDataPlane plane() {
    return plane;
  }

  /** Starts {@code count} more worker processes (logs under {@code logs-<batch>}). */
  LocalWorkers workers(String batch, int count) throws IOException {
    return workers(batch, count, i -> List.of("--devices", "1"));
  }

  /** Starts {@code count} more worker processes, worker {@code i} with {@code args.apply(i)}. */
  LocalWorkers workers(String batch, int count, IntFunction<List<String>> args) throws IOException {
    LocalWorkers workers =
        LocalWorkers.start(
            count,
            port,
            TestingWorkerMain.class.getName(),
            dir.resolve("logs-" + batch),
            dir.resolve("cache-" + batch),
            args);
    batches.add(workers);
    return workers;
  }

  /** The workers the coordinator knows now. */
  List<WorkerView> members() {
    return node.service().workers().toCompletableFuture().join();
  }

  /** Waits up to {@code bound} until the coordinator's workers satisfy {@code condition}. */
  void awaitMembers(Duration bound, Predicate<List<WorkerView>> condition) {
    Awaitility.await()
        .atMost(bound)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> condition.test(members()));
  }

  /**
   * A job of 45 examples in steps of 8 (6 steps an epoch), trained by {@code workers} workers for
   * {@code epochs} epochs, each share taking at least {@code stepMillis}.
   */
  String spec(int workers, int epochs, long stepMillis) throws IOException {
    return quadSpec(dir, workers, epochs, stepMillis, 100, false);
  }

  /**
   * The quadratic stand-in job, its model and data written under {@code dir}: 45 examples in steps
   * of 8 (6 steps an epoch), a checkpoint every {@code checkpointEvery} steps, and with {@code
   * eval} a held-out set of two examples.
   */
  static String quadSpec(
      Path dir, int workers, int epochs, long stepMillis, int checkpointEvery, boolean eval)
      throws IOException {
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
    String evalLine = "";
    if (eval) {
      Path held = dir.resolve("eval.jsonl");
      Files.writeString(
          held,
          "{\"instruction\":\"e\",\"output\":\"a\"}\n{\"instruction\":\"f\",\"output\":\"b\"}\n");
      evalLine = "eval: [{name: held-out, path: " + held + "}]\n";
    }
    return "name: quad\n"
        + "model: "
        + model
        + "\n"
        + "datasets: [{path: "
        + train
        + "}]\n"
        + evalLine
        + "lora: {r: 2, alpha: 4, dropout: 0.0, targetModules: [q_proj]}\n"
        + "training: {epochs: "
        + epochs
        + ", learningRate: 0.05, scheduler: cosine, warmupSteps: 2,"
        + " globalBatchSize: 8, microBatchSize: 2, maxSeqLen: 64, seed: 3}\n"
        + "cluster: {workers: "
        + workers
        + ", gpusPerWorker: 1, pricePerGpuHour: 2.0, currency: CNY}\n"
        + "checkpoint: {everySteps: "
        + checkpointEvery
        + ", keepLast: 2}\n";
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
    return events(jobDir(id));
  }

  /** The events in {@code jobDir}'s {@code events.jsonl}; none while it does not exist. */
  static List<JsonNode> events(Path jobDir) throws IOException {
    List<JsonNode> events = new ArrayList<>();
    Path file = jobDir.resolve("events.jsonl");
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

  /** The events of {@code type} among {@code events}. */
  static List<JsonNode> ofType(List<JsonNode> events, String type) {
    return events.stream().filter(e -> e.get("type").asText().equals(type)).toList();
  }

  /** The time of the first {@code step} event for global step {@code step}. */
  static Instant firstStepTime(List<JsonNode> events, long step) {
    return stepTimes(events, step).get(0);
  }

  /** The time of the last {@code step} event for global step {@code step} (the one that held). */
  static Instant lastStepTime(List<JsonNode> events, long step) {
    List<Instant> times = stepTimes(events, step);
    return times.get(times.size() - 1);
  }

  private static List<Instant> stepTimes(List<JsonNode> events, long step) {
    List<Instant> times =
        ofType(events, "step").stream()
            .filter(e -> e.get("step").asLong() == step)
            .map(FaultCluster::time)
            .toList();
    if (times.isEmpty()) {
      throw new AssertionError("no step event for step " + step);
    }
    return times;
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

  /**
   * Runs the same job undisturbed on {@code workers} workers (shares without delay) and asserts its
   * final adapter matches job {@code id}'s (see {@link #assertSameAdapter}); returns the largest
   * relative difference.
   */
  double assertMatchesUndisturbedRun(String id, int workers, int epochs, Duration bound)
      throws Exception {
    String reference = submit(spec(workers, epochs, 0));
    JobView straight = awaitTerminal(reference, bound);
    assertThat(straight.state()).as(String.valueOf(straight.error())).isEqualTo(JobState.SUCCEEDED);
    return assertSameAdapter(finalAdapter(id), finalAdapter(reference));
  }

  /**
   * Asserts each value of adapter {@code a} is within 1e-4 relative of {@code b} (|b| below 1
   * counts as 1), and returns the largest |a−b|/|b| the FAULT lines report.
   */
  static double assertSameAdapter(float[] a, float[] b) {
    double maxRelative = 0;
    for (int i = 0; i < a.length; i++) {
      assertThat(a[i]).isCloseTo(b[i], within(1e-4f * Math.max(1f, Math.abs(b[i]))));
      maxRelative = Math.max(maxRelative, Math.abs(a[i] - b[i]) / Math.max(1e-12, Math.abs(b[i])));
    }
    return maxRelative;
  }

  /** Sends {@code signal} (STOP, CONT, …) to {@code process} with {@code kill}. */
  static void signal(Process process, String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    assertThat(kill.waitFor()).as("kill -%s %d", signal, process.pid()).isZero();
  }

  /** The last 40 lines of {@code log}, for a failure message. */
  static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  @Override
  public void close() {
    batches.forEach(LocalWorkers::close);
    node.close();
  }
}
