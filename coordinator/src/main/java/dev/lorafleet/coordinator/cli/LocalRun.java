package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.spec.InvalidSpecException;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.cluster.CoordinatorNode;
import dev.lorafleet.coordinator.cluster.DataPlaneExchange;
import dev.lorafleet.coordinator.cluster.LocalWorkers;
import dev.lorafleet.worker.metrics.MetricsServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What {@code run} and {@code demo} do: a coordinator in this process and N worker processes on
 * loopback, one job submitted and watched to its end, the report printed, everything stopped.
 */
final class LocalRun {
  private final PrintWriter out;
  private final PrintWriter err;

  LocalRun(PrintWriter out, PrintWriter err) {
    this.out = out;
    this.err = err;
  }

  /** The coordinator's metrics port of a local run; worker i takes the port 1 + i above it. */
  static final int DEFAULT_METRICS_PORT = 9400;

  /** Returns the exit code: 0 when the job succeeded. */
  int run(Path specFile, int localWorkers, Path dataDir) throws Exception {
    return run(specFile, localWorkers, dataDir, DEFAULT_METRICS_PORT);
  }

  /**
   * Returns the exit code: 0 when the job succeeded. Metrics are served on {@code metricsPort}
   * (coordinator) and the ports above it (workers), or on free ports where those are taken or
   * {@code metricsPort} is 0.
   */
  int run(Path specFile, int localWorkers, Path dataDir, int metricsPort) throws Exception {
    JobSpec parsed;
    String text;
    try {
      text = Files.readString(specFile);
      parsed = new JobSpecParser().parse(text, specFile.toString());
    } catch (InvalidSpecException e) {
      err.println("lorafleet run: " + specFile + " is not a valid job spec:");
      for (SpecProblem p : e.problems()) {
        err.println("  " + p.field() + ": " + p.message());
      }
      return 2;
    } catch (IOException e) {
      err.println("lorafleet run: cannot read " + specFile + ": " + e.getMessage());
      return 2;
    }
    // the spec's worker count is for a real cluster; here there are exactly N local workers
    JobSpec spec =
        new JobSpec(
            parsed.name(),
            parsed.model(),
            parsed.datasets(),
            parsed.eval(),
            parsed.lora(),
            parsed.training(),
            new JobSpec.Cluster(
                localWorkers,
                parsed.cluster().gpusPerWorker(),
                parsed.cluster().pricePerGpuHour(),
                parsed.cluster().currency()),
            parsed.checkpoint());
    Path baseDir = specFile.toAbsolutePath().getParent();
    Files.createDirectories(dataDir);
    int clusterPort = LocalWorkers.freePort();
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(DataPlaneConfig.defaults().withPorts(0, 0));
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults("127.0.0.1", clusterPort, dataDir.toAbsolutePath());
    CoordinatorNode.Settings settings =
        new CoordinatorNode.Settings(
            defaults.host(),
            defaults.clusterPort(),
            defaults.dataDir(),
            baseDir,
            defaults.timing(),
            defaults.formats(),
            null,
            defaults.metrics());
    // workers send fp32 gradients (DataPlaneWorkerExchange)
    settings.metrics().registerDataPlane(plane::counters, WireDtype.FP32);
    int coordinatorPort = portOrFree(metricsPort);
    int[] workerPorts = new int[localWorkers];
    for (int i = 0; i < localWorkers; i++) {
      workerPorts[i] = portOrFree(metricsPort == 0 ? 0 : metricsPort + 1 + i);
    }
    out.printf(
        "lorafleet: starting a coordinator and %d local worker(s); worker logs in %s%n",
        localWorkers, dataDir.resolve("logs"));
    out.flush();
    try (MetricsServer metricsServer =
            MetricsServer.start("127.0.0.1", coordinatorPort, settings.metrics().registry());
        CoordinatorNode node = CoordinatorNode.start(settings, exchange, exchange);
        LocalWorkers workers =
            LocalWorkers.start(
                localWorkers,
                clusterPort,
                Main.class.getName(),
                dataDir.resolve("logs"),
                dataDir.resolve("cache"),
                i ->
                    List.of(
                        "--devices", "1", "--metrics-port", Integer.toString(workerPorts[i])))) {
      out.printf(
          "lorafleet: Prometheus metrics at %s (coordinator) and on port(s) %s (workers)%n",
          metricsServer.url(),
          java.util.Arrays.stream(workerPorts)
              .mapToObj(Integer::toString)
              .collect(java.util.stream.Collectors.joining(", ")));
      out.flush();
      SubmitResult result =
          node.service().submit(spec, text).toCompletableFuture().get(2, TimeUnit.MINUTES);
      if (result instanceof SubmitResult.Rejected rejected) {
        err.println("lorafleet run: the job was refused:");
        rejected.problems().forEach(p -> err.println("  " + p.field() + ": " + p.message()));
        return 2;
      }
      JobView job = ((SubmitResult.Accepted) result).job();
      out.printf("lorafleet: job %s submitted%n", job.id());
      out.flush();
      JobView finalView = watch(node, job.id(), workers);
      out.print(EpochTable.render(finalView.epochs(), finalView.currency()));
      Path jobDir = dataDir.resolve("jobs").resolve(job.id());
      out.printf(
          "%s %s; adapter in %s%n",
          finalView.name(),
          finalView.state().name().toLowerCase(Locale.ROOT),
          jobDir.resolve(
              finalView.state() == dev.lorafleet.coordinator.api.JobState.FAILED
                  ? "checkpoints"
                  : "final"));
      if (finalView.error() != null) {
        err.println("lorafleet run: " + finalView.error());
      }
      out.flush();
      return finalView.state() == dev.lorafleet.coordinator.api.JobState.SUCCEEDED ? 0 : 1;
    }
  }

  /** {@code wanted} when it is free on loopback (and not 0), else a free port. */
  private static int portOrFree(int wanted) throws IOException {
    if (wanted > 0) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress("127.0.0.1", wanted));
        return wanted;
      } catch (IOException taken) {
        // another run or program has it: take any free port, the line above says which
      }
    }
    return LocalWorkers.freePort();
  }

  private JobView watch(CoordinatorNode node, String jobId, LocalWorkers workers) throws Exception {
    ProgressPrinter progress = ProgressPrinter.forConsole(out);
    long deadWorkersSince = 0;
    while (true) {
      JobView view = node.service().get(jobId).toCompletableFuture().get(1, TimeUnit.MINUTES);
      if (view.state().isTerminal()) {
        progress.finish(view);
        return view;
      }
      progress.update(view);
      if (workers.alive() == 0) {
        if (deadWorkersSince == 0) {
          deadWorkersSince = System.nanoTime();
        } else if (System.nanoTime() - deadWorkersSince > TimeUnit.SECONDS.toNanos(5)) {
          err.println();
          err.println("lorafleet run: every local worker exited; see " + workers.logs());
          JobView cancelled =
              node.service().cancel(jobId).toCompletableFuture().get(1, TimeUnit.MINUTES);
          return cancelled;
        }
      }
      Thread.sleep(500);
    }
  }
}
