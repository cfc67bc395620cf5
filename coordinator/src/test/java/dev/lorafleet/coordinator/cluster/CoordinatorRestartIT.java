package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.checkpoint.TrainerState;
import dev.lorafleet.coordinator.cli.TestingCoordinatorMain;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator process killed with SIGKILL mid-job and started again on the same data directory:
 * the job resumes from its newest valid checkpoint, the worker processes join the new incarnation,
 * and every step's loss and the final adapter equal an uninterrupted run's.
 */
class CoordinatorRestartIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String STRAIGHT = "a-straight";
  private static final String KILLED = "b-killed";
  @TempDir Path dir;

  private String spec() throws IOException {
    Path model = Files.createDirectories(dir.resolve("model"));
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
    return "name: quad\n"
        + "model: "
        + model
        + "\n"
        + "datasets: [{path: "
        + train
        + "}]\n"
        + "lora: {r: 2, alpha: 4, dropout: 0.0, targetModules: [q_proj]}\n"
        + "training: {epochs: 25, learningRate: 0.05, scheduler: cosine, warmupSteps: 2,"
        + " globalBatchSize: 8, microBatchSize: 2, maxSeqLen: 64, seed: 3}\n"
        + "cluster: {workers: 2, gpusPerWorker: 1, pricePerGpuHour: 2.0, currency: CNY}\n"
        + "checkpoint: {everySteps: 7, keepLast: 2}\n";
  }

  private Process startCoordinator(int clusterPort, String log) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("-Xmx512m");
    command.add("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED");
    command.add(
        "-Dlorafleet.test.aeron-dir=" + Files.createDirectories(dir.resolve("aeron-" + log)));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(TestingCoordinatorMain.class.getName());
    command.add("coordinator");
    command.add("--data-dir");
    command.add(dir.resolve("data").toString());
    command.add("--host");
    command.add("127.0.0.1");
    command.add("--cluster-port");
    command.add(String.valueOf(clusterPort));
    command.add("--http-port");
    command.add(String.valueOf(LocalWorkers.freePort()));
    command.add("--metrics-port");
    command.add(String.valueOf(LocalWorkers.freePort()));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve(log + ".log").toFile())
        .start();
  }

  private List<JsonNode> events(String job) throws IOException {
    Path file = dir.resolve("data/jobs").resolve(job).resolve("events.jsonl");
    List<JsonNode> events = new ArrayList<>();
    if (Files.isRegularFile(file)) {
      for (String line : Files.readAllLines(file)) {
        if (!line.isBlank()) {
          events.add(JSON.readTree(line));
        }
      }
    }
    return events;
  }

  private long stepsDone(String job) throws IOException {
    return events(job).stream().filter(e -> e.get("type").asText().equals("step")).count();
  }

  private boolean finished(String job) throws IOException {
    return events(job).stream().anyMatch(e -> e.get("type").asText().equals("finished"));
  }

  private static void kill(Process p) throws InterruptedException {
    p.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
  }

  @Test
  void killedCoordinatorResumesTheJobAndMatchesAnUninterruptedRun() throws Exception {
    String spec = spec();
    Path jobs = dir.resolve("data/jobs");
    // both jobs are on disk before the coordinator starts: it picks them up as unfinished work
    for (String job : List.of(STRAIGHT, KILLED)) {
      Files.createDirectories(jobs.resolve(job));
      Files.writeString(jobs.resolve(job).resolve("spec.yaml"), spec);
    }
    Files.setLastModifiedTime(
        jobs.resolve(STRAIGHT).resolve("spec.yaml"), FileTime.from(Instant.now().minusSeconds(60)));
    int port = LocalWorkers.freePort();
    Process first = startCoordinator(port, "coordinator-1");
    Process second = null;
    try (LocalWorkers workers =
        LocalWorkers.start(
            2,
            port,
            TestingWorkerMain.class.getName(),
            dir.resolve("logs"),
            dir.resolve("cache"),
            List.of("--devices", "1"))) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(100))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> stepsDone(KILLED) >= 40);
      kill(first);
      Instant killedAt = Instant.now();
      long stepAtKill = stepsDone(KILLED);
      assertThat(finished(KILLED)).isFalse();
      assertThat(finished(STRAIGHT)).isTrue();

      second = startCoordinator(port, "coordinator-2");
      Awaitility.await()
          .atMost(Duration.ofSeconds(100))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> finished(KILLED));

      List<JsonNode> events = events(KILLED);
      assertThat(events.get(events.size() - 1).get("state").asText()).isEqualTo("SUCCEEDED");
      JsonNode resumed =
          events.stream()
              .filter(e -> e.get("type").asText().equals("resumed"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no resumed event"));
      assertThat(resumed.get("incarnation").asInt()).isEqualTo(1);
      long resumedFrom = resumed.get("step").asLong();
      assertThat(resumedFrom).isBetween(stepAtKill - 8, stepAtKill);
      Instant resumedAt = Instant.parse(resumed.get("time").asText());
      Instant firstStepAfter =
          events.stream()
              .filter(e -> e.get("type").asText().equals("step"))
              .filter(e -> e.get("step").asLong() == resumedFrom)
              .map(e -> Instant.parse(e.get("time").asText()))
              .reduce((a, b) -> b)
              .orElseThrow();

      TrainerState a = Checkpointer.readState(jobs.resolve(STRAIGHT).resolve("final"));
      TrainerState b = Checkpointer.readState(jobs.resolve(KILLED).resolve("final"));
      assertThat(b.globalStep()).isEqualTo(25 * 6);
      assertThat(b.lossHistory()).hasSize(25 * 6);
      for (int i = 0; i < a.lossHistory().size(); i++) {
        double x = a.lossHistory().get(i).loss();
        double y = b.lossHistory().get(i).loss();
        assertThat(Math.abs(x - y))
            .as("loss of step %d", i)
            .isLessThanOrEqualTo(1e-5 * Math.abs(x));
      }
      TestingRawFormat format = new TestingRawFormat();
      float[] straight = format.read(jobs.resolve(STRAIGHT).resolve("final"))[0];
      float[] killed = format.read(jobs.resolve(KILLED).resolve("final"))[0];
      double maxRelative = 0;
      boolean bitwise = true;
      for (int i = 0; i < straight.length; i++) {
        bitwise &= Float.floatToRawIntBits(straight[i]) == Float.floatToRawIntBits(killed[i]);
        maxRelative =
            Math.max(
                maxRelative,
                Math.abs(straight[i] - killed[i]) / Math.max(1e-12, Math.abs(straight[i])));
      }
      assertThat(maxRelative).isLessThanOrEqualTo(1e-5);
      boolean lossesBitwise = a.lossHistory().equals(b.lossHistory());
      System.out.printf(
          "coordinator kill -9: killed after step %d, resumed from checkpoint step %d (%d step(s)"
              + " recomputed); new incarnation resumed the job %d ms after the kill, first step"
              + " done %d ms after the kill; losses bitwise equal: %s; final adapter bitwise"
              + " equal: %s, max relative difference %.3g%n",
          stepAtKill,
          resumedFrom,
          stepAtKill - resumedFrom,
          Duration.between(killedAt, resumedAt).toMillis(),
          Duration.between(killedAt, firstStepAfter).toMillis(),
          lossesBitwise,
          bitwise,
          maxRelative);
    } finally {
      kill(first);
      if (second != null) {
        second.destroy();
        if (!second.waitFor(15, TimeUnit.SECONDS)) {
          kill(second);
        }
      }
    }
  }
}
