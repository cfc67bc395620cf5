package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.common.protocol.CoordinatorHello;
import dev.lorafleet.common.spec.PathPolicy;
import dev.lorafleet.common.spec.SpecPreflight;
import dev.lorafleet.coordinator.api.ScaleView;
import dev.lorafleet.coordinator.checkpoint.PeftCheckpointFormat;
import dev.lorafleet.coordinator.job.ActorJobService;
import dev.lorafleet.coordinator.job.CheckpointFormatFactory;
import dev.lorafleet.coordinator.job.FailurePolicy;
import dev.lorafleet.coordinator.job.GradientExchange;
import dev.lorafleet.coordinator.job.JobManager;
import dev.lorafleet.coordinator.job.JobRunner;
import dev.lorafleet.coordinator.job.JobSettings;
import dev.lorafleet.coordinator.lease.LeaseKeeper;
import dev.lorafleet.coordinator.lease.StateDirLease;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.ClusterConfig;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A running coordinator: the cluster seed's actor system with the worker registry and the job
 * manager, the data plane, and the {@link ActorJobService} the HTTP API and {@code run} use. It
 * holds the lease of its data directory from before the first job resumes until it closes; losing
 * it stops the actor system (nothing more is written: every write is fenced).
 */
public final class CoordinatorNode implements AutoCloseable {

  /** Where and how the coordinator runs. */
  public record Settings(
      String host,
      int clusterPort,
      Path dataDir,
      Path specBaseDir,
      JobRunner.Timing timing,
      CheckpointFormatFactory formats,
      IntFunction<CompletionStage<ScaleView>> scaler,
      CoordinatorMetrics metrics,
      FailurePolicy failures) {

    /** Settings with the default {@link FailurePolicy}. */
    public Settings(
        String host,
        int clusterPort,
        Path dataDir,
        Path specBaseDir,
        JobRunner.Timing timing,
        CheckpointFormatFactory formats,
        IntFunction<CompletionStage<ScaleView>> scaler,
        CoordinatorMetrics metrics) {
      this(
          host,
          clusterPort,
          dataDir,
          specBaseDir,
          timing,
          formats,
          scaler,
          metrics,
          FailurePolicy.defaults());
    }

    public Settings withFailures(FailurePolicy policy) {
      return new Settings(
          host, clusterPort, dataDir, specBaseDir, timing, formats, scaler, metrics, policy);
    }

    public static Settings defaults(String host, int clusterPort, Path dataDir) {
      return new Settings(
          host,
          clusterPort,
          dataDir,
          Path.of("").toAbsolutePath(),
          JobRunner.Timing.defaults(),
          PeftCheckpointFormat.factory(),
          null,
          CoordinatorMetrics.create());
    }
  }

  private record Refs(
      ActorRef<CoordinatorInbound> registry, ActorRef<JobManager.Command> manager) {}

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(CoordinatorNode.class);

  private final ActorSystem<Void> system;
  private final ActorJobService service;
  private final AutoCloseable exchangeCloser;
  private final LeaseKeeper lease;

  private CoordinatorNode(
      ActorSystem<Void> system, ActorJobService service, AutoCloseable closer, LeaseKeeper lease) {
    this.system = system;
    this.service = service;
    this.exchangeCloser = closer;
    this.lease = lease;
  }

  /**
   * Starts the coordinator with a data plane ({@code exchange}) already open, taking the lease of
   * its data directory first (refusing with {@link
   * dev.lorafleet.coordinator.lease.LeaseHeldException} when another coordinator holds it).
   */
  public static CoordinatorNode start(
      Settings settings, GradientExchange exchange, AutoCloseable exchangeCloser) {
    LeaseKeeper lease;
    try {
      lease = LeaseKeeper.of(StateDirLease.acquire(settings.dataDir()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while taking the coordinator lease", e);
    }
    try {
      return start(settings, lease, exchange, exchangeCloser);
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
  }

  /**
   * Starts the coordinator under a lease already taken ({@code lease}): every write to the data
   * directory is fenced by it, and its loss terminates the actor system.
   */
  public static CoordinatorNode start(
      Settings settings,
      LeaseKeeper lease,
      GradientExchange exchange,
      AutoCloseable exchangeCloser) {
    CompletableFuture<Refs> refs = new CompletableFuture<>();
    DatasetStore datasets = new DatasetStore();
    CoordinatorHello hello = new CoordinatorHello(exchange.endpoints(), System.nanoTime());
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.setup(
                context -> {
                  Executor blocking =
                      context
                          .getSystem()
                          .dispatchers()
                          .lookup(DispatcherSelector.fromConfig("lorafleet.blocking-dispatcher"));
                  ActorRef<CoordinatorInbound> registry =
                      context.spawn(
                          WorkerRegistry.create(
                              datasets,
                              blocking,
                              hello,
                              settings.metrics(),
                              settings.failures(),
                              Clock.systemUTC()),
                          "workers");
                  ActorRef<JobManager.Command> manager =
                      context.spawn(
                          JobManager.create(
                              new JobManager.Services(
                                  settings.dataDir(),
                                  registry,
                                  datasets,
                                  exchange,
                                  settings.formats(),
                                  settings.timing(),
                                  blocking,
                                  Clock.systemUTC(),
                                  settings.metrics(),
                                  settings.failures(),
                                  lease)),
                          "jobs");
                  refs.complete(new Refs(registry, manager));
                  return Behaviors.empty();
                }),
            ClusterConfig.SYSTEM_NAME,
            ClusterConfig.coordinator(settings.host(), settings.clusterPort()));
    Refs r = refs.join();
    lease.onLost(
        reason -> {
          log.error(
              "This coordinator lost its lease on {} and stops now, writing nothing more, so that"
                  + " the coordinator holding it keeps its checkpoints intact: {}",
              settings.dataDir(),
              reason);
          system.terminate();
        });
    // jobs a previous incarnation left unfinished resume from their newest valid checkpoint
    r.manager()
        .tell(
            new JobManager.ResumeUnfinished(
                text -> {
                  try {
                    return JobSettings.from(
                        new dev.lorafleet.common.spec.JobSpecParser().parse(text),
                        settings.specBaseDir());
                  } catch (dev.lorafleet.common.spec.InvalidSpecException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                  }
                },
                system.ignoreRef()));
    ActorJobService service =
        new ActorJobService(
            system,
            r.manager(),
            r.registry(),
            new SpecPreflight(PathPolicy.permissive(), settings.specBaseDir()),
            settings.specBaseDir(),
            settings.scaler());
    return new CoordinatorNode(system, service, exchangeCloser, lease);
  }

  /** The lease this coordinator holds (its fencing token; why it was lost, once it was). */
  public LeaseKeeper lease() {
    return lease;
  }

  public ActorJobService service() {
    return service;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system
          .getWhenTerminated()
          .toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      // shutting down anyway
    }
    try {
      if (exchangeCloser != null) {
        exchangeCloser.close();
      }
    } catch (Exception e) {
      // the data plane's own close reports nothing we could act on at exit
    }
    // last: nothing writes any more, a successor may take the data directory
    lease.close();
  }
}
