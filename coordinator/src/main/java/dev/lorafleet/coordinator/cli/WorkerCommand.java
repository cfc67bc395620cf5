package dev.lorafleet.coordinator.cli;

import ai.djl.Device;
import dev.lorafleet.worker.cluster.ClusterConfig;
import dev.lorafleet.worker.cluster.DataPlaneWorkerExchange;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import dev.lorafleet.worker.cluster.WorkerExchange;
import dev.lorafleet.worker.cluster.WorkerNode;
import dev.lorafleet.worker.cluster.WorkerRuntime;
import dev.lorafleet.worker.cluster.WorkerSettings;
import dev.lorafleet.worker.metrics.DeviceMemoryProbe;
import dev.lorafleet.worker.metrics.MetricsServer;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Runs a worker node that joins a coordinator and trains the shares it is given. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Run a worker node that joins a coordinator.")
final class WorkerCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--coordinator",
      required = true,
      defaultValue = "${env:LORAFLEET_COORDINATOR_CLUSTER}",
      description = "The coordinator's cluster address HOST[:PORT] (default port 25520).")
  String coordinator;

  @Option(
      names = "--devices",
      defaultValue = "${env:LORAFLEET_DEVICES:-auto}",
      description = "GPUs to train on, or 'auto' (all visible GPUs, else the CPU).")
  String devices;

  @Option(
      names = "--metrics-port",
      defaultValue = "${env:LORAFLEET_METRICS_PORT}",
      description = "Port for Prometheus metrics at /metrics (default 9401).")
  Integer metricsPort;

  /** The worker's metrics port when none is given. */
  static final int DEFAULT_METRICS_PORT = 9401;

  @Option(
      names = "--host",
      defaultValue = "${env:LORAFLEET_HOST}",
      description =
          "Address the coordinator reaches this worker at (default: the interface"
              + " that routes to the coordinator).")
  String host;

  @Option(
      names = "--name",
      defaultValue = "${env:NODE_NAME}",
      description = "This node's name in logs, the API and cost (default: the host name).")
  String name;

  @Option(
      names = "--cache-dir",
      defaultValue = "${env:LORAFLEET_CACHE_DIR}",
      description = "Where datasets received from the coordinator are cached.")
  Path cacheDir;

  @Option(
      names = "--leave-grace",
      defaultValue = "${env:LORAFLEET_LEAVE_GRACE:-30}",
      description =
          "Seconds a worker told to go (SIGTERM, a spot notice) has to finish its shares and"
              + " tell the coordinator before it leaves the cluster (default 30).")
  int leaveGraceSeconds;

  /** Opens a job's training on this node; replaced by the trainer once the core is wired. */
  static JobComputeFactory computeFactory = TrainerCompute.factory();

  @Override
  public Integer call() throws Exception {
    String[] hostPort = coordinator.split(":", 2);
    String seedHost = hostPort[0];
    int seedPort;
    try {
      seedPort =
          hostPort.length == 2 ? Integer.parseInt(hostPort[1]) : ClusterConfig.DEFAULT_CLUSTER_PORT;
    } catch (NumberFormatException e) {
      throw new ParameterException(
          spec.commandLine(), "--coordinator '" + coordinator + "' is not HOST[:PORT]");
    }
    if (leaveGraceSeconds < 0) {
      throw new ParameterException(spec.commandLine(), "--leave-grace must be 0 or more seconds");
    }
    String bindHost = host != null ? host : localAddressTowards(seedHost);
    int deviceCount;
    String kind;
    if (devices.equals("auto")) {
      int gpus = gpuCount();
      deviceCount = Math.max(1, gpus);
      kind = gpus > 0 ? "cuda" : "cpu";
    } else {
      try {
        deviceCount = Integer.parseInt(devices);
      } catch (NumberFormatException e) {
        throw new ParameterException(spec.commandLine(), "--devices must be a number or 'auto'");
      }
      if (deviceCount < 1) {
        throw new ParameterException(spec.commandLine(), "--devices must be at least 1");
      }
      kind = gpuCount() > 0 ? "cuda" : "cpu";
    }
    String nodeName = name != null ? name : InetAddress.getLocalHost().getHostName();
    String workerId = nodeName + "-" + ProcessHandle.current().pid();
    Path cache =
        cacheDir != null
            ? cacheDir
            : Path.of(
                System.getProperty("java.io.tmpdir"),
                "lorafleet-cache-" + System.getProperty("user.name"));
    PrometheusRegistry registry = new PrometheusRegistry();
    WorkerMetrics metrics =
        new WorkerMetrics(
            registry, workerId, DeviceMemoryProbe.forDevices(devices(kind, deviceCount)));
    MetricsServer metricsServer = serveMetrics(registry);
    WorkerExchange.Factory plain = DataPlaneWorkerExchange.factory(bindHost);
    WorkerExchange.Factory metered =
        (endpoints, id) -> {
          WorkerExchange exchange = plain.connect(endpoints, id);
          if (exchange instanceof DataPlaneWorkerExchange dataPlane) {
            metrics.registerDataPlane(dataPlane::counters);
          }
          return exchange;
        };
    try {
      while (true) {
        ActorSystem<WorkerNode.Command> system =
            WorkerRuntime.start(
                bindHost,
                seedHost,
                seedPort,
                new WorkerSettings(
                    workerId, nodeName, deviceCount, kind, bindHost, cache, Duration.ofMinutes(10)),
                computeFactory,
                metered,
                metrics,
                Duration.ofSeconds(leaveGraceSeconds));
        system.getWhenTerminated().toCompletableFuture().join();
        var reason =
            org.apache.pekko.actor.CoordinatedShutdown.get(system).getShutdownReason().orElse(null);
        // the coordinator went away (killed, restarted): the cluster downed this node, so join the
        // coordinator's next incarnation instead of exiting; a SIGTERM or a leave ends the process
        if (!(reason instanceof org.apache.pekko.actor.CoordinatedShutdown.ClusterDowningReason$)) {
          return 0;
        }
        org.slf4j.LoggerFactory.getLogger(WorkerCommand.class)
            .warn(
                "Worker {} lost the coordinator at {}:{}; joining it again when it is back.",
                workerId,
                seedHost,
                seedPort);
      }
    } finally {
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
  }

  /**
   * Serves the worker's metrics on all interfaces (Prometheus scrapes the node's address), or says
   * why not: a worker trains just as well without them.
   */
  private MetricsServer serveMetrics(PrometheusRegistry registry) {
    int port = metricsPort != null ? metricsPort : DEFAULT_METRICS_PORT;
    try {
      return MetricsServer.start("0.0.0.0", port, registry);
    } catch (java.io.UncheckedIOException e) {
      spec.commandLine()
          .getErr()
          .println("lorafleet worker: " + e.getMessage() + "; training goes on without metrics");
      spec.commandLine().getErr().flush();
      return null;
    }
  }

  private static List<Device> devices(String kind, int count) {
    if (!kind.equals("cuda")) {
      return List.of(Device.cpu());
    }
    List<Device> gpus = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      gpus.add(Device.gpu(i));
    }
    return gpus;
  }

  private static int gpuCount() {
    try {
      return ai.djl.util.cuda.CudaUtils.getGpuCount();
    } catch (RuntimeException | LinkageError e) {
      return 0;
    }
  }

  /** The local address whose route leads to {@code host} (no packet is sent). */
  static String localAddressTowards(String host) {
    try (DatagramSocket socket = new DatagramSocket()) {
      InetAddress target = InetAddress.getByName(host);
      if (target.isLoopbackAddress()) {
        return "127.0.0.1";
      }
      socket.connect(new InetSocketAddress(target, 9));
      return socket.getLocalAddress().getHostAddress();
    } catch (Exception e) {
      return "127.0.0.1";
    }
  }
}
