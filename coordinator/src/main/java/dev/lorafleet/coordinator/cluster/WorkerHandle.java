package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.common.protocol.ControlMessage;
import dev.lorafleet.common.protocol.WorkerInfo;
import dev.lorafleet.worker.cluster.ClusterProtocol;
import dev.lorafleet.worker.cluster.WorkerNode;
import org.apache.pekko.actor.typed.ActorRef;

/** A live worker: what it announced and where to reach its actor. */
public record WorkerHandle(WorkerInfo info, ActorRef<WorkerNode.Command> ref) {
  public String id() {
    return info.workerId();
  }

  public void tell(ControlMessage message) {
    ref.tell(new ClusterProtocol.ToWorker(message));
  }
}
