package dev.lorafleet.coordinator.k8s;

import java.util.List;

/**
 * How many worker pods to hold, and why, in a sentence for the log.
 *
 * @param replicas the worker StatefulSet's replicas to set
 * @param reason why, for people ("job medqa-lora is running on 4 workers")
 * @param servedJobIds the jobs these workers are for, in the order they get them
 * @param capped true when jobs want more than {@link ScalingPolicy#maxWorkers()}
 */
public record ReplicaDecision(
    int replicas, String reason, List<String> servedJobIds, boolean capped) {

  public ReplicaDecision {
    servedJobIds = List.copyOf(servedJobIds);
  }
}
