package dev.lorafleet.coordinator.cli;

import dev.lorafleet.worker.cluster.ClusterConfig;
import dev.lorafleet.worker.cluster.DataPlaneWorkerExchange;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import dev.lorafleet.worker.cluster.WorkerNode;
import dev.lorafleet.worker.cluster.WorkerRuntime;
import dev.lorafleet.worker.cluster.WorkerSettings;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
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
      description = "Port for Prometheus metrics at /metrics.")
  Integer metricsPort;

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
    while (true) {
      ActorSystem<WorkerNode.Command> system =
          WorkerRuntime.start(
              bindHost,
              seedHost,
              seedPort,
              new WorkerSettings(
                  workerId, nodeName, deviceCount, kind, bindHost, cache, Duration.ofMinutes(10)),
              computeFactory,
              DataPlaneWorkerExchange.factory(bindHost));
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
