package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
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
 * A worker process frozen with SIGSTOP in the middle of a step: the step watchdog drops it, the
 * step is planned again over the other worker, and the job goes on. Woken with SIGCONT (before the
 * split brain resolver downs it), it finishes the old share and sends that gradient: the data plane
 * drops it (its step and round are over), and the woken worker stays a member of the cluster, idle.
 * Every example is still trained once per epoch.
 */
class StuckWorkerIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SAMPLES = 45;
  private static final int EPOCHS = 8;
  private static final int STEPS_PER_EPOCH = 6;

  /** The share (from 1) the victim is frozen in: the one of step 6, the first of epoch 2. */
  private static final int FROZEN_SHARE = 7;

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

  private static String tail(Path log) throws java.io.IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private static void signal(Process process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    assertThat(kill.waitFor()).as("kill -%s %d", signal, process.pid()).isZero();
  }

  @Test
  void shouldDropAFrozenWorkerAndIgnoreItsLateGradient() throws Exception {
    int port = LocalWorkers.freePort();
    TestingRawFormat format = new TestingRawFormat();
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("data"));
    // the step watchdog: a share not delivered within 3 s is planned again over the others
    Duration stepDeadline = Duration.ofSeconds(3);
    CoordinatorNode.Settings settings =
        new CoordinatorNode.Settings(
            defaults.host(),
            port,
            defaults.dataDir(),
            defaults.specBaseDir(),
            new JobRunner.Timing(stepDeadline, Duration.ofSeconds(60), Duration.ofSeconds(30)),
            (s, json, length) -> format,
            null,
            defaults.metrics());
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(
            DataPlaneConfig.defaults()
                .withPorts(0, 0)
                .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron"))));
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    Path marker = dir.resolve("victim-in-step");
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
                        ? List.of(
                            "--devices", "1", "--test-slow-share", FROZEN_SHARE + ":2000:" + marker)
                        // a slow device: the job outlasts the freeze
                        : List.of("--devices", "1", "--test-share-delay-ms", "100"))) {
      String id = submit(node, 2);
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> Files.exists(marker));
      Process victim = workers.processes().get(1);
      Instant frozenAt = Instant.now();
      signal(victim, "STOP"); // frozen inside its share of step 6
      long stepAtFreeze = node.service().get(id).toCompletableFuture().join().step();
      assertThat(stepAtFreeze).isEqualTo(FROZEN_SHARE - 1);

      // the watchdog drops it; the step is planned again over the other worker
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () ->
                  events(id).stream()
                      .anyMatch(e -> e.get("type").asText().equals("worker_dropped")));
      DataPlaneCounters beforeWake = plane.counters();
      assertThat(node.service().get(id).toCompletableFuture().join().state())
          .as("the job is still training when the victim wakes")
          .isEqualTo(JobState.RUNNING);
      signal(victim, "CONT");
      Instant wokenAt = Instant.now();
      // it finishes the old share and sends it: fenced by step and round, it is dropped as stale
      try {
        Awaitility.await()
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> plane.counters().droppedStaleStep() > beforeWake.droppedStaleStep());
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(
            "no late gradient dropped after SIGCONT; counters before "
                + beforeWake
                + ", now "
                + plane.counters()
                + "; the victim's log ends:\n"
                + tail(workers.logs().get(1)),
            e);
      }

      JobView done = awaitTerminal(node, id);

      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(done.epochs()).hasSize(EPOCHS);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(SAMPLES);
      }
      List<JsonNode> events = events(id);
      JsonNode dropped =
          events.stream()
              .filter(e -> e.get("type").asText().equals("worker_dropped"))
              .findFirst()
              .orElseThrow();
      assertThat(dropped.get("step").asLong()).isEqualTo(stepAtFreeze);
      Instant detectedAt = Instant.parse(dropped.get("time").asText());
      Instant recoveredAt =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .filter(e -> e.get("step").asLong() == stepAtFreeze)
              .map(e -> Instant.parse(e.get("time").asText()))
              .findFirst()
              .orElseThrow();
      List<Long> steps =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .map(e -> e.get("step").asLong())
              .toList();
      assertThat(steps).doesNotHaveDuplicates().hasSize(EPOCHS * STEPS_PER_EPOCH);
      // the woken worker was never downed (woken within the resolver's bound): still a member
      assertThat(victim.isAlive()).isTrue();
      List<WorkerView> members = node.service().workers().toCompletableFuture().join();
      assertThat(members).extracting(WorkerView::name).contains("local-0", "local-1");

      // the survivor alone reaches the same adapter (float sums in another order: 1e-4 relative)
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
          "FAULT sigstop_worker detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          Duration.between(frozenAt, detectedAt).toMillis() / 1e3,
          Duration.between(frozenAt, recoveredAt).toMillis() / 1e3,
          maxRelative);
      System.out.printf(
          "sigstop: frozen %d ms inside step %d; its late gradient was dropped after SIGCONT"
              + " (stale %d -> %d, duplicate %d -> %d)%n",
          Duration.between(frozenAt, wokenAt).toMillis(),
          stepAtFreeze,
          beforeWake.droppedStaleStep(),
          plane.counters().droppedStaleStep(),
          beforeWake.droppedDuplicate(),
          plane.counters().droppedDuplicate());
    }
  }

  @Test
  void shouldLetAWorkerFrozenPastTheSplitBrainResolverRejoinWhenWoken() throws Exception {
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
                Duration.ofSeconds(3), Duration.ofSeconds(60), Duration.ofSeconds(30)),
            (s, json, length) -> format,
            null,
            defaults.metrics());
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(
            DataPlaneConfig.defaults()
                .withPorts(0, 0)
                .withDriverDirectoryParent(Files.createDirectories(dir.resolve("aeron"))));
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    Path marker = dir.resolve("victim-in-step");
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
                        ? List.of(
                            "--devices", "1", "--test-slow-share", FROZEN_SHARE + ":2000:" + marker)
                        : List.of("--devices", "1", "--test-share-delay-ms", "100"))) {
      String id = submit(node, 2);
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> Files.exists(marker));
      Process victim = workers.processes().get(1);
      Instant frozenAt = Instant.now();
      signal(victim, "STOP");
      // frozen past the resolver's bound: the cluster downs it and the registry forgets it
      Awaitility.await()
          .atMost(Duration.ofSeconds(45))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () ->
                  node.service().workers().toCompletableFuture().join().stream()
                      .noneMatch(w -> w.name().equals("local-1")));
      Instant downedAt = Instant.now();
      DataPlaneCounters beforeWake = plane.counters();
      signal(victim, "CONT");
      // it learns it was downed, and its rejoin loop joins the same coordinator again
      try {
        Awaitility.await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(100))
            .until(
                () ->
                    node.service().workers().toCompletableFuture().join().stream()
                        .anyMatch(
                            w -> w.name().equals("local-1") && w.state() == WorkerView.State.IDLE));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(
            "the woken worker did not join again; its log ends:\n" + tail(workers.logs().get(1)),
            e);
      }
      Instant rejoinedAt = Instant.now();
      assertThat(victim.isAlive()).isTrue();

      JobView done = awaitTerminal(node, id);
      assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
      for (EpochReport epoch : done.epochs()) {
        assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(SAMPLES);
      }
      List<JsonNode> events = events(id);
      List<Long> steps =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .map(e -> e.get("step").asLong())
              .toList();
      assertThat(steps).doesNotHaveDuplicates().hasSize(EPOCHS * STEPS_PER_EPOCH);
      JsonNode dropped =
          events.stream()
              .filter(e -> e.get("type").asText().equals("worker_dropped"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no worker_dropped event"));
      long lostStep = dropped.get("step").asLong();
      Instant recoveredAt =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .filter(e -> e.get("step").asLong() == lostStep)
              .map(e -> Instant.parse(e.get("time").asText()))
              .findFirst()
              .orElseThrow();
      System.out.printf(
          "FAULT sigstop_worker_past_resolver detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=n/a%n",
          Duration.between(frozenAt, Instant.parse(dropped.get("time").asText())).toMillis() / 1e3,
          Duration.between(frozenAt, recoveredAt).toMillis() / 1e3);
      // the rejoined worker trains again: a new job takes both workers and succeeds
      String next = submit(node, 2);
      JobView again = awaitTerminal(node, next);
      assertThat(again.state()).as(String.valueOf(again.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(again.epochs()).allSatisfy(e -> assertThat(e.workers()).isEqualTo(2));
      System.out.printf(
          "sigstop past the resolver: downed %.1f s after the freeze, joined again %.1f s after"
              + " SIGCONT; data-plane drops around the wake %d -> %d%n",
          Duration.between(frozenAt, downedAt).toMillis() / 1e3,
          Duration.between(downedAt, rejoinedAt).toMillis() / 1e3,
          beforeWake.dropped(),
          plane.counters().dropped());
    }
  }
}
