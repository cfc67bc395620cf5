package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.coordinator.cli.Main;
import dev.lorafleet.worker.data.DemoDataWriter;
import dev.lorafleet.worker.data.TinyTokenizerWriter;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lorafleet run} for real — a coordinator process and a worker process training a tiny Llama
 * with the real trainer — watched by the real Prometheus server: every dashboard query and every
 * alert input returns data, and a worker frozen with SIGSTOP (a hung GPU, a wedged node) makes
 * LorafleetJobStalled fire.
 */
class RunObservabilityIT {

  private static final Pattern METRICS_LINE =
      Pattern.compile(
          "Prometheus metrics at http://127\\.0\\.0\\.1:(\\d+)/metrics \\(coordinator\\) and on"
              + " port\\(s\\) (\\d+) \\(workers\\)");
  private static final Pattern SUBMITTED = Pattern.compile("lorafleet: job (\\S+) submitted");

  @TempDir Path work;

  @Test
  void prometheusWatchesARealRunAndSeesItStallWhenTheWorkerFreezes() throws Exception {
    Optional<Path> binary = DeployFiles.onPath("prometheus");
    assumeTrue(
        binary.isPresent(),
        "the prometheus server is not installed (apt-get install prometheus; .ci/run installs it)");
    Path spec = writeTinyJob(work.resolve("job"));
    Path log = work.resolve("run.log");
    Process run = startRun(spec, work.resolve("data"), log);
    try {
      Matcher ports = awaitLine(run, log, METRICS_LINE);
      Matcher submitted = awaitLine(run, log, SUBMITTED);
      ObservedRun.verify(
          binary.get(),
          work.resolve("prometheus"),
          "127.0.0.1:" + ports.group(1),
          List.of("127.0.0.1:" + ports.group(2)),
          submitted.group(1),
          () -> freezeWorkers(run),
          // a tiny model's step, eval and checkpoint take well under a second; and it must be
          // short: the cluster downs a frozen worker after ~12 s (failure detector + split-brain
          // resolver's 7 s), and the job then fails, which ends the stall
          5,
          Duration.ofSeconds(180));
    } finally {
      // the workers are children of the run process; SIGKILL ends stopped processes too
      run.descendants().forEach(ProcessHandle::destroyForcibly);
      run.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** A tiny Llama, its tokenizer, the demo's toy task (small) and a job long enough to watch. */
  private static Path writeTinyJob(Path dir) throws IOException {
    new TinyModelWriter()
        .optArchitecture(Architecture.LLAMA)
        .optVocabSize(TinyTokenizerWriter.DEFAULT_VOCAB_SIZE)
        .optHiddenSize(32)
        .optIntermediateSize(64)
        .optLayers(1)
        .optHeads(2, 1)
        .optSeed(7)
        .write(dir.resolve("model"));
    new TinyTokenizerWriter().write(dir.resolve("model"));
    new DemoDataWriter(48, 8, 16, 8, 7L).write(dir.resolve("data"));
    Path spec = dir.resolve("job.yaml");
    Files.writeString(
        spec,
        """
        name: watched
        model: model
        datasets:
          - {path: data/train.jsonl, weight: 0.75}
          - {path: data/general.jsonl, weight: 0.25}
        eval:
          - {name: reverse, path: data/eval.jsonl}
          - {name: repeat, path: data/general-eval.jsonl}
        lora: {r: 4, alpha: 8, dropout: 0.0, targetModules: [q_proj, v_proj]}
        training: {epochs: 200, learningRate: 5.0e-3, scheduler: constant, warmupSteps: 0,
                   globalBatchSize: 16, microBatchSize: 8, maxSeqLen: 64, seed: 7,
                   weightDecay: 0.0, maxGradNorm: 1.0}
        cluster: {workers: 1, gpusPerWorker: 1, pricePerGpuHour: 2.5, currency: USD}
        checkpoint: {everySteps: 3, keepLast: 2}
        """);
    return spec;
  }

  /** {@code lorafleet run} in a JVM of its own, on free metrics ports, output to {@code log}. */
  private static Process startRun(Path spec, Path dataDir, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-Xmx1g");
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-")) {
        command.add(arg); // the data plane's module exports
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(
        List.of(
            "run",
            spec.toString(),
            "--local-workers",
            "1",
            "--metrics-port",
            "0",
            "--data-dir",
            dataDir.toString()));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  private static Matcher awaitLine(Process run, Path log, Pattern line) {
    Matcher[] found = new Matcher[1];
    await("'" + line.pattern() + "' in " + log)
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              if (!run.isAlive()) {
                throw new AssertionError(
                    "lorafleet run exited with " + run.exitValue() + ":\n" + Files.readString(log));
              }
              Matcher m = line.matcher(Files.readString(log));
              if (m.find()) {
                found[0] = m;
                return true;
              }
              return false;
            });
    return found[0];
  }

  /**
   * Whether a process runs {@code lorafleet worker}. Read from /proc: the JDK's {@code
   * ProcessHandle.Info.arguments()} gives nothing for command lines as long as this class path.
   */
  private static boolean isWorker(ProcessHandle process) {
    try {
      String cmdline = Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline"));
      return List.of(cmdline.split("\0")).contains("worker");
    } catch (IOException e) {
      return false; // gone already, or not Linux
    }
  }

  /** Stops (SIGSTOP) the run's worker processes: alive, but no step can finish. */
  private static void freezeWorkers(Process run) {
    List<ProcessHandle> workers = run.descendants().filter(RunObservabilityIT::isWorker).toList();
    assertThat(workers).as("worker processes of the run").isNotEmpty();
    for (ProcessHandle worker : workers) {
      try {
        Process kill =
            new ProcessBuilder("kill", "-STOP", Long.toString(worker.pid()))
                .redirectErrorStream(true)
                .start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill -STOP " + worker.pid()).isZero();
      } catch (IOException e) {
        throw new AssertionError("cannot stop worker " + worker.pid(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }
}
