package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.coordinator.api.ApiServer;
import dev.lorafleet.coordinator.api.ApiSettings;
import dev.lorafleet.coordinator.api.TokenFile;
import dev.lorafleet.coordinator.cluster.CoordinatorNode;
import dev.lorafleet.coordinator.cluster.DataPlaneExchange;
import dev.lorafleet.coordinator.job.FailurePolicy;
import dev.lorafleet.coordinator.k8s.Durations;
import dev.lorafleet.coordinator.k8s.KubernetesCoordinatorLease;
import dev.lorafleet.coordinator.k8s.WorkerScaler;
import dev.lorafleet.coordinator.k8s.WorkerScalers;
import dev.lorafleet.coordinator.lease.CoordinatorLease;
import dev.lorafleet.coordinator.lease.LeaseHeldException;
import dev.lorafleet.coordinator.lease.LeaseKeeper;
import dev.lorafleet.coordinator.lease.LeaseRecord;
import dev.lorafleet.coordinator.lease.StateDirLease;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.metrics.MetricsServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the coordinator: cluster seed, data plane, job manager, HTTP API and metrics. */
@Command(
    name = "coordinator",
    mixinStandardHelpOptions = true,
    defaultValueProvider = ConfigFileDefaults.class,
    description = {
      "Run the coordinator: HTTP API, cluster seed, Aeron, metrics.",
      "Each option also comes from the environment (--http-port: LORAFLEET_HTTP_PORT) or from"
          + " the properties file named by LORAFLEET_CONFIG (http-port=8080); a flag wins."
    })
final class CoordinatorCommand implements Callable<Integer> {
  /** Exit code when another coordinator holds the data directory (and did not let go in time). */
  static final int EXIT_LEASE_HELD = 3;

  /** Exit code when this coordinator lost its lease while running and stopped. */
  static final int EXIT_LEASE_LOST = 4;

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--http-port",
      defaultValue = "${env:LORAFLEET_HTTP_PORT:-8080}",
      description = "Port of the HTTP API (default ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(
      names = "--metrics-port",
      defaultValue = "${env:LORAFLEET_METRICS_PORT:-9400}",
      description = "Port for Prometheus metrics at /metrics (default ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(
      names = "--data-dir",
      defaultValue = "${env:LORAFLEET_DATA_DIR:-lorafleet-data}",
      description = "Where jobs, checkpoints and reports are kept (default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--token-file",
      defaultValue = "${env:LORAFLEET_TOKEN_FILE}",
      description = "File holding the bearer token every /api call must carry.")
  Path tokenFile;

  @Option(
      names = "--host",
      defaultValue = "${env:LORAFLEET_HOST:-127.0.0.1}",
      description =
          "Address workers reach this coordinator at: cluster and data plane (default"
              + " ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--cluster-port",
      defaultValue = "${env:LORAFLEET_CLUSTER_PORT:-25520}",
      description = "Port of the Pekko cluster that workers join (default ${DEFAULT-VALUE}).")
  int clusterPort;

  @Option(
      names = "--job-error-budget",
      defaultValue = "${env:LORAFLEET_JOB_ERROR_BUDGET:-3}",
      description =
          "Real errors from workers (a failed step or preparation) a job retries before it fails"
              + " with the first one; preemptions are never counted (default ${DEFAULT-VALUE}).")
  int jobErrorBudget;

  @Option(
      names = "--quarantine-after",
      defaultValue = "${env:LORAFLEET_QUARANTINE_AFTER:-2}",
      description =
          "Errors within --quarantine-seconds after which a worker is put aside (default"
              + " ${DEFAULT-VALUE}).")
  int quarantineAfter;

  @Option(
      names = "--quarantine-seconds",
      defaultValue = "${env:LORAFLEET_QUARANTINE_SECONDS:-600}",
      description =
          "How long a worker that keeps failing is put aside: no shares, no new jobs (default"
              + " ${DEFAULT-VALUE}).")
  long quarantineSeconds;

  @Option(
      names = "--lease-wait",
      defaultValue = "${env:LORAFLEET_LEASE_WAIT:-0s}",
      description =
          "How long to wait for another coordinator holding the data directory to stop, then"
              + " take over (default ${DEFAULT-VALUE}: refuse at once, naming it; e.g. 5m).")
  String leaseWait;

  @Option(
      names = "--pause-after",
      defaultValue = "${env:LORAFLEET_PAUSE_AFTER:-600}",
      description =
          "Seconds a running job may have no worker before it goes PAUSED (keeping its"
              + " checkpoint; it goes on when workers return) (default ${DEFAULT-VALUE}).")
  long pauseAfterSeconds;

  /** How checkpoints are written; multi-process tests swap in a stand-in for the PEFT layout. */
  static dev.lorafleet.coordinator.job.CheckpointFormatFactory formats = null;

  /** Adjusts the data plane's settings; multi-process tests pick free ports and a driver dir. */
  static java.util.function.UnaryOperator<DataPlaneConfig> dataPlane = c -> c;

  @Override
  public Integer call() throws Exception {
    if (pauseAfterSeconds < 1) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--pause-after must be at least 1 second");
    }
    FailurePolicy failures;
    try {
      failures =
          new FailurePolicy(
              jobErrorBudget,
              quarantineAfter,
              Duration.ofSeconds(quarantineSeconds),
              Duration.ofSeconds(quarantineSeconds));
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    // an unreadable token file stops the start: never run open by accident
    String token = tokenFile == null ? null : TokenFile.load(tokenFile);
    Duration wait;
    try {
      wait = Durations.parse(leaseWait);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--lease-wait: " + e.getMessage());
    }
    // before anything binds a port or resumes a job: two coordinators never act on one directory
    LeaseKeeper lease;
    try {
      lease = takeLease(dataDir.toAbsolutePath(), wait);
    } catch (LeaseHeldException e) {
      spec.commandLine().getErr().println("lorafleet coordinator: " + e.getMessage());
      return EXIT_LEASE_HELD;
    }
    try {
      shutdown.set(lease::close);
      // one hook, registered now: a stop while starting still lets go of the lease (a later
      // hook could run concurrently with it and let go while the node still writes)
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> shutdown.get().run(), "lorafleet-shutdown"));
      return run(token, lease, failures);
    } catch (Exception | Error e) {
      if (lease.lost().isPresent()) {
        return leaseLost(lease); // lost while starting: the start failed because of it
      }
      lease.close();
      throw e;
    }
  }

  private int leaseLost(LeaseKeeper lease) {
    spec.commandLine()
        .getErr()
        .println(
            "lorafleet coordinator: stopped because another coordinator took over "
                + dataDir.toAbsolutePath()
                + ": "
                + lease.lost().orElseThrow());
    return EXIT_LEASE_LOST;
  }

  /**
   * On Kubernetes (the chart sets {@code LORAFLEET_K8S_LEASE}) the Lease object first, so that
   * coordinators on different nodes exclude each other; then the state directory's lock, whose
   * fencing token every write is checked against.
   */
  private static LeaseKeeper takeLease(Path dir, Duration wait) throws Exception {
    Optional<KubernetesCoordinatorLease> kubernetes =
        KubernetesCoordinatorLease.fromEnvironment(System.getenv(), wait);
    try {
      StateDirLease stateDir =
          StateDirLease.acquire(
              dir,
              LeaseRecord.Holder.thisProcess(),
              wait,
              Clock.systemUTC(),
              StateDirLease.Pause.REAL);
      List<CoordinatorLease> leases = new ArrayList<>();
      kubernetes.ifPresent(leases::add);
      leases.add(stateDir);
      return new LeaseKeeper(stateDir.token(), leases);
    } catch (Exception | Error e) {
      kubernetes.ifPresent(KubernetesCoordinatorLease::close);
      throw e;
    }
  }

  /** What a SIGTERM does: let go of the lease, or (once started) stop everything, lease last. */
  private final java.util.concurrent.atomic.AtomicReference<Runnable> shutdown =
      new java.util.concurrent.atomic.AtomicReference<>(() -> {});

  private int run(String token, LeaseKeeper lease, FailurePolicy failures) throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry, Clock.systemUTC());
    CoordinatorDataPlane plane =
        CoordinatorDataPlane.open(dataPlane.apply(DataPlaneConfig.defaults().withHost(host)));
    metrics.registerDataPlane(plane::counters, dev.lorafleet.common.wire.WireDtype.FP32);
    DataPlaneExchange exchange = new DataPlaneExchange(plane);
    WorkerScaler scaler = WorkerScalers.fromEnvironment(System.getenv());
    WorkerPoolScaling scaling = scaler.enabled() ? new WorkerPoolScaling(scaler) : null;
    if (scaling == null) {
      org.slf4j.LoggerFactory.getLogger(CoordinatorCommand.class)
          .info("{}; start and stop worker processes yourself.", scaler.status().message());
    }
    CoordinatorNode.Settings defaults =
        CoordinatorNode.Settings.defaults(host, clusterPort, dataDir.toAbsolutePath());
    CoordinatorNode node =
        CoordinatorNode.start(
            new CoordinatorNode.Settings(
                defaults.host(),
                defaults.clusterPort(),
                defaults.dataDir(),
                defaults.specBaseDir(),
                defaults.timing().withPauseAfter(Duration.ofSeconds(pauseAfterSeconds)),
                formats != null ? formats : defaults.formats(),
                scaling == null ? defaults.scaler() : scaling.manual(),
                metrics,
                failures),
            lease,
            exchange,
            exchange);
    if (scaling != null) {
      scaling.startAutoscaling(node.service(), dataDir.toAbsolutePath());
    }
    MetricsServer metricsServer = MetricsServer.start("0.0.0.0", metricsPort, registry);
    ApiSettings api = ApiSettings.of("0.0.0.0", httpPort);
    if (token != null) {
      api = api.withBearerToken(token);
    }
    ApiServer.start(node.system(), node.service(), api)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    org.slf4j.LoggerFactory.getLogger(CoordinatorCommand.class)
        .info(
            "Coordinator ready: workers join with 'lorafleet worker --coordinator {}:{}'; jobs and"
                + " checkpoints under {}.",
            host,
            clusterPort,
            dataDir.toAbsolutePath());
    shutdown.set(
        () -> {
          metricsServer.close();
          if (scaling != null) {
            scaling.close();
          }
          node.close(); // lets go of the lease last
        });
    node.system().getWhenTerminated().toCompletableFuture().join();
    return lease.lost().isPresent() ? leaseLost(lease) : 0;
  }
}
