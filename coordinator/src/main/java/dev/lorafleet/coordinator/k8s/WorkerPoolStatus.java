package dev.lorafleet.coordinator.k8s;

import java.util.List;

/**
 * The worker pool as {@code GET /api/v1/workers} shows it.
 *
 * @param scalingEnabled whether the coordinator scales the pool
 * @param message a sentence: the pool's state, or why scaling is off or the API could not be read
 * @param namespace the pool's namespace (null when scaling is off)
 * @param statefulSet the worker StatefulSet's name (null when scaling is off)
 * @param replicas replicas asked for (null when unknown)
 * @param currentReplicas pods that exist (null when unknown)
 * @param readyReplicas pods that are ready
 * @param pods the worker pods, by ordinal
 */
public record WorkerPoolStatus(
    boolean scalingEnabled,
    String message,
    String namespace,
    String statefulSet,
    Integer replicas,
    Integer currentReplicas,
    int readyReplicas,
    List<WorkerPod> pods) {

  public WorkerPoolStatus {
    pods = List.copyOf(pods);
  }

  /** Scaling is off; {@code message} says why. */
  static WorkerPoolStatus disabled(String message) {
    return new WorkerPoolStatus(false, message, null, null, null, null, 0, List.of());
  }
}
