package dev.lorafleet.coordinator.cluster;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Worker processes on this machine, started with the same {@code java} and class path as this one,
 * each joining the coordinator on loopback. Their output goes to {@code <logDir>/worker-N.log}.
 */
public final class LocalWorkers implements AutoCloseable {
  private final List<Process> processes = new ArrayList<>();
  private final List<Path> logs = new ArrayList<>();

  private LocalWorkers() {}

  /**
   * Starts {@code count} worker JVMs running {@code mainClass worker --coordinator
   * 127.0.0.1:clusterPort}.
   */
  public static LocalWorkers start(
      int count,
      int clusterPort,
      String mainClass,
      Path logDir,
      Path cacheDir,
      List<String> extraArgs)
      throws IOException {
    return start(count, clusterPort, mainClass, logDir, cacheDir, i -> extraArgs);
  }

  /** The same, with arguments of each worker's own (e.g. its metrics port) by index. */
  public static LocalWorkers start(
      int count,
      int clusterPort,
      String mainClass,
      Path logDir,
      Path cacheDir,
      IntFunction<List<String>> extraArgs)
      throws IOException {
    Files.createDirectories(logDir);
    LocalWorkers workers = new LocalWorkers();
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> jvmFlags = new ArrayList<>();
    // Agrona (Aeron, Pekko Artery) needs this; a jar started with -jar gets it from its manifest,
    // which a worker started with -cp does not read
    jvmFlags.add("--add-exports");
    jvmFlags.add("java.base/jdk.internal.misc=ALL-UNNAMED");
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // keep the module opens the data plane needs; drop debug agents and the like
      if ((arg.startsWith("--add-") || arg.startsWith("-Dlorafleet.")) && !jvmFlags.contains(arg)) {
        jvmFlags.add(arg);
      }
    }
    String heap = System.getenv().getOrDefault("LORAFLEET_WORKER_HEAP", "1g");
    // the workers share this machine's cores: more torch threads than that only thrash
    int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / count);
    try {
      for (int i = 0; i < count; i++) {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.add("-Xmx" + heap);
        command.add("-XX:+UseSerialGC");
        command.add("-Dai.djl.pytorch.num_threads=" + threads);
        command.add("-Dai.djl.pytorch.num_interop_threads=1");
        command.addAll(jvmFlags);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.add("worker");
        command.add("--coordinator");
        command.add("127.0.0.1:" + clusterPort);
        command.add("--host");
        command.add("127.0.0.1");
        command.add("--name");
        command.add("local-" + i);
        command.add("--cache-dir");
        command.add(cacheDir.resolve("worker-" + i).toString());
        command.addAll(extraArgs.apply(i));
        Path log = logDir.resolve("worker-" + i + ".log");
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putIfAbsent("OMP_NUM_THREADS", Integer.toString(threads));
        Process process = builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        workers.processes.add(process);
        workers.logs.add(log);
      }
    } catch (IOException | RuntimeException e) {
      workers.close();
      throw e;
    }
    return workers;
  }

  /** How many of the workers are still running. */
  public long alive() {
    return processes.stream().filter(Process::isAlive).count();
  }

  public List<Path> logs() {
    return List.copyOf(logs);
  }

  public List<Process> processes() {
    return List.copyOf(processes);
  }

  /** Asks every worker to leave (SIGTERM), then kills those still there after 15 s. */
  @Override
  public void close() {
    processes.forEach(Process::destroy);
    for (Process p : processes) {
      try {
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
  }

  /** A TCP port free right now on loopback. */
  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
