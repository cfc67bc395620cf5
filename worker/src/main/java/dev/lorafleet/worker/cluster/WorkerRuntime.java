package dev.lorafleet.worker.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** Starts a worker node: an actor system that joins the coordinator's cluster, and its actor. */
public final class WorkerRuntime {
  private WorkerRuntime() {}

  /** How long a worker told to go (SIGTERM, a spot notice) may take to finish its shares. */
  public static final Duration DEFAULT_LEAVE_GRACE = Duration.ofSeconds(30);

  /**
   * Starts a worker node that reports its job open time and share compute to {@code metrics}. A
   * shutdown of the node (SIGTERM: a spot notice or a scale-down) first tells the coordinator and
   * finishes the shares the node has, for up to {@code leaveGrace}, and only then leaves the
   * cluster. A node downed by the cluster (the coordinator went away) leaves at once.
   *
   * @param host the address this worker binds (cluster and data plane)
   * @param seedHost the coordinator's cluster host
   * @param seedPort the coordinator's cluster port
   */
  public static ActorSystem<WorkerNode.Command> start(
      String host,
      String seedHost,
      int seedPort,
      WorkerSettings settings,
      JobComputeFactory computeFactory,
      WorkerExchange.Factory exchangeFactory,
      WorkerMetrics metrics,
      Duration leaveGrace) {
    Config config =
        ConfigFactory.parseString(
                "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = "
                    + (leaveGrace.toMillis() + 1000)
                    + "ms")
            .withFallback(ClusterConfig.worker(host, 0, seedHost, seedPort));
    ActorSystem<WorkerNode.Command> system =
        ActorSystem.create(
            WorkerNode.create(settings, computeFactory, exchangeFactory, metrics),
            ClusterConfig.SYSTEM_NAME,
            config);
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "lorafleet-worker-leave",
        () -> {
          if (leaveGrace.isZero()
              || shutdown.getShutdownReason().orElse(null)
                  instanceof CoordinatedShutdown.ClusterDowningReason$) {
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          CompletionStage<WorkerNode.Left> left =
              AskPattern.ask(
                  system,
                  replyTo -> new WorkerNode.Leave(leaveGrace, replyTo),
                  leaveGrace,
                  system.scheduler());
          // past the grace the node leaves anyway: the coordinator replans what it still had
          return left.handle((ok, timeout) -> Done.getInstance());
        });
    return system;
  }
}
