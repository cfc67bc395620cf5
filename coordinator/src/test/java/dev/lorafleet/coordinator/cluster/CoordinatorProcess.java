package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.coordinator.cli.TestingCoordinatorMain;
import dev.lorafleet.coordinator.cli.TestingWorkerMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A coordinator in a process of its own (the testing main, raw checkpoints): what the restart and
 * take-over ITs kill and start again on one data directory.
 */
public final class CoordinatorProcess {
  private CoordinatorProcess() {}

  /**
   * Starts {@code lorafleet coordinator} on {@code dataDir} and {@code clusterPort} (free HTTP and
   * metrics ports), its output in {@code <dir>/<name>.log} and its Aeron directory under {@code
   * <dir>/aeron-<name>}.
   */
  static Process start(Path dir, Path dataDir, int clusterPort, String name) throws IOException {
    return builder(dir, dataDir, clusterPort, name).start();
  }

  /**
   * What {@link #start} runs, with {@code extra} arguments after the usual ones, for a caller that
   * sets the environment before it starts the process.
   */
  public static ProcessBuilder builder(
      Path dir, Path dataDir, int clusterPort, String name, String... extra) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("-Xmx512m");
    command.add("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED");
    command.add(
        "-Dlorafleet.test.aeron-dir=" + Files.createDirectories(dir.resolve("aeron-" + name)));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(TestingCoordinatorMain.class.getName());
    command.add("coordinator");
    command.add("--data-dir");
    command.add(dataDir.toString());
    command.add("--host");
    command.add("127.0.0.1");
    command.add("--cluster-port");
    command.add(String.valueOf(clusterPort));
    command.add("--http-port");
    command.add(String.valueOf(LocalWorkers.freePort()));
    command.add("--metrics-port");
    command.add(String.valueOf(LocalWorkers.freePort()));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
  }

  /**
   * Writes {@code spec} as jobs {@code older} and {@code newer} under {@code jobs}, {@code older}'s
   * spec modified a minute earlier: a coordinator started afterwards picks both up as unfinished
   * work, {@code older} first.
   */
  static void writeJobs(Path jobs, String spec, String older, String newer) throws IOException {
    for (String job : List.of(older, newer)) {
      Files.createDirectories(jobs.resolve(job));
      Files.writeString(jobs.resolve(job).resolve("spec.yaml"), spec);
    }
    Files.setLastModifiedTime(
        jobs.resolve(older).resolve("spec.yaml"), FileTime.from(Instant.now().minusSeconds(60)));
  }

  /** Starts {@code count} testing worker processes that join {@code clusterPort}. */
  static LocalWorkers workers(Path dir, int clusterPort, int count) throws IOException {
    return LocalWorkers.start(
        count,
        clusterPort,
        TestingWorkerMain.class.getName(),
        dir.resolve("logs"),
        dir.resolve("cache"),
        List.of("--devices", "1"));
  }

  /** SIGKILL, waiting up to 20 s for the process to end; nothing when {@code p} is null. */
  static void kill(Process p) throws InterruptedException {
    if (p != null) {
      p.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    }
  }

  /** SIGTERM, then SIGKILL if it has not ended within 15 s; nothing when {@code p} is null. */
  static void stop(Process p) throws InterruptedException {
    if (p != null) {
      p.destroy();
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        kill(p);
      }
    }
  }
}
