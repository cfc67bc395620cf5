package dev.lorafleet.worker.cluster;

import dev.lorafleet.worker.metrics.WorkerMetrics;
import org.apache.pekko.actor.typed.ActorSystem;

/** Starts a worker node: an actor system that joins the coordinator's cluster, and its actor. */
public final class WorkerRuntime {
  private WorkerRuntime() {}

  /**
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
      WorkerExchange.Factory exchangeFactory) {
    return ActorSystem.create(
        WorkerNode.create(settings, computeFactory, exchangeFactory),
        ClusterConfig.SYSTEM_NAME,
        ClusterConfig.worker(host, 0, seedHost, seedPort));
  }

  /** The same, reporting the node's job open time and share compute to {@code metrics}. */
  public static ActorSystem<WorkerNode.Command> start(
      String host,
      String seedHost,
      int seedPort,
      WorkerSettings settings,
      JobComputeFactory computeFactory,
      WorkerExchange.Factory exchangeFactory,
      WorkerMetrics metrics) {
    return ActorSystem.create(
        WorkerNode.create(settings, computeFactory, exchangeFactory, metrics),
        ClusterConfig.SYSTEM_NAME,
        ClusterConfig.worker(host, 0, seedHost, seedPort));
  }
}
