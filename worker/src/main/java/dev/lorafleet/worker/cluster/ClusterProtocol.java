package dev.lorafleet.worker.cluster;

import dev.lorafleet.common.protocol.ControlMessage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The two envelopes that cross the cluster and the Receptionist keys both sides meet by. Protocol
 * records (in {@code common.protocol}) hold no actor references; the envelope carries the sender.
 */
public final class ClusterProtocol {
  /** The coordinator's worker registry registers under this key; workers subscribe to it. */
  public static final ServiceKey<CoordinatorInbound> COORDINATOR_KEY =
      ServiceKey.create(CoordinatorInbound.class, "lorafleet-coordinator");

  /** Every worker node registers under this key. */
  public static final ServiceKey<WorkerNode.Command> WORKER_KEY =
      ServiceKey.create(WorkerNode.Command.class, "lorafleet-worker");

  /** The cluster role every worker joins with. */
  public static final String WORKER_ROLE = "worker";

  private ClusterProtocol() {}

  /** A control message for a worker node. */
  public record ToWorker(ControlMessage message) implements ClusterMessage, WorkerNode.Command {}

  /** A control message from a worker node, with the node's reference to answer it. */
  public record ToCoordinator(ControlMessage message, ActorRef<WorkerNode.Command> worker)
      implements ClusterMessage, CoordinatorInbound {}
}
