package dev.lorafleet.coordinator.k8s;

import io.kubernetes.client.openapi.models.V1ContainerStateTerminated;
import io.kubernetes.client.openapi.models.V1ContainerStateWaiting;
import io.kubernetes.client.openapi.models.V1ContainerStatus;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodCondition;
import io.kubernetes.client.openapi.models.V1PodStatus;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reads worker pods: which are ready, and in one sentence why one is not (unschedulable for lack of
 * GPUs, image pull failing, crash looping...). Pure functions over the client's models.
 */
public final class PodReadiness {

  private PodReadiness() {}

  /** What the first {@code replicas} pods of a StatefulSet look like. */
  public record Summary(int wanted, List<WorkerPod> pods) {
    public Summary {
      pods = List.copyOf(pods);
    }

    public int ready() {
      return (int) pods.stream().filter(WorkerPod::ready).count();
    }

    public boolean allReady() {
      return ready() >= wanted;
    }

    public List<WorkerPod> notReady() {
      return pods.stream().filter(p -> !p.ready()).toList();
    }
  }

  /**
   * The pods {@code <statefulSet>-0} to {@code <statefulSet>-(replicas-1)}: each found one
   * described, each missing one as {@code Missing}. Pods of higher ordinals (being removed after a
   * scale-down) do not count.
   */
  public static Summary summarize(String statefulSet, Collection<V1Pod> pods, int replicas) {
    Map<Integer, V1Pod> byOrdinal = new TreeMap<>();
    for (V1Pod pod : pods) {
      int ordinal = ordinal(statefulSet, pod.getMetadata().getName());
      if (ordinal >= 0 && ordinal < replicas) {
        byOrdinal.put(ordinal, pod);
      }
    }
    List<WorkerPod> described = new ArrayList<>();
    for (int i = 0; i < replicas; i++) {
      V1Pod pod = byOrdinal.get(i);
      described.add(pod == null ? missing(statefulSet + "-" + i) : describe(pod));
    }
    return new Summary(replicas, described);
  }

  /** All pods of the StatefulSet, by ordinal, whatever the replica count. */
  public static List<WorkerPod> describeAll(String statefulSet, Collection<V1Pod> pods) {
    Map<Integer, WorkerPod> byOrdinal = new TreeMap<>();
    for (V1Pod pod : pods) {
      int ordinal = ordinal(statefulSet, pod.getMetadata().getName());
      if (ordinal >= 0) {
        byOrdinal.put(ordinal, describe(pod));
      }
    }
    return List.copyOf(byOrdinal.values());
  }

  static WorkerPod missing(String name) {
    return new WorkerPod(
        name,
        "Missing",
        false,
        null,
        "the pod does not exist yet (the StatefulSet controller has not created it; see"
            + " 'kubectl describe statefulset')");
  }

  /** The ordinal of a StatefulSet pod's name, or -1 when the name is not one of its pods. */
  static int ordinal(String statefulSet, String podName) {
    String prefix = statefulSet + "-";
    if (podName == null || !podName.startsWith(prefix)) {
      return -1;
    }
    String digits = podName.substring(prefix.length());
    if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Integer.parseInt(digits);
  }

  public static WorkerPod describe(V1Pod pod) {
    V1PodStatus status = pod.getStatus();
    String phase = status == null || status.getPhase() == null ? "Pending" : status.getPhase();
    String node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    boolean ready = isReady(pod);
    return new WorkerPod(
        pod.getMetadata().getName(), phase, ready, node, ready ? null : whyNotReady(pod));
  }

  /** Ready: the Ready condition is True and the pod is not being deleted. */
  public static boolean isReady(V1Pod pod) {
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      return false;
    }
    return condition(pod, "Ready").map(c -> "True".equals(c.getStatus())).orElse(false);
  }

  /**
   * The most telling reason a pod is not ready: being deleted; not scheduled (the scheduler's
   * message names the missing {@code nvidia.com/gpu}); a container waiting (image pull, crash loop)
   * or terminated; the Ready condition's message; else the phase.
   */
  static String whyNotReady(V1Pod pod) {
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      return "being deleted";
    }
    Optional<V1PodCondition> scheduled = condition(pod, "PodScheduled");
    if (scheduled.isPresent() && "False".equals(scheduled.get().getStatus())) {
      return "not scheduled: "
          + reasonAndMessage(scheduled.get().getReason(), scheduled.get().getMessage());
    }
    V1PodStatus status = pod.getStatus();
    if (status != null) {
      List<V1ContainerStatus> containers = new ArrayList<>();
      if (status.getInitContainerStatuses() != null) {
        containers.addAll(status.getInitContainerStatuses());
      }
      if (status.getContainerStatuses() != null) {
        containers.addAll(status.getContainerStatuses());
      }
      for (V1ContainerStatus container : containers) {
        if (container.getState() == null || Boolean.TRUE.equals(container.getReady())) {
          continue;
        }
        V1ContainerStateWaiting waiting = container.getState().getWaiting();
        if (waiting != null && waiting.getReason() != null) {
          return "container "
              + container.getName()
              + " waiting: "
              + reasonAndMessage(waiting.getReason(), waiting.getMessage())
              + restarts(container);
        }
        V1ContainerStateTerminated terminated = container.getState().getTerminated();
        if (terminated != null && !"Completed".equals(terminated.getReason())) {
          return "container "
              + container.getName()
              + " exited with code "
              + terminated.getExitCode()
              + (terminated.getReason() == null ? "" : " (" + terminated.getReason() + ")")
              + restarts(container);
        }
      }
    }
    Optional<V1PodCondition> readyCondition = condition(pod, "Ready");
    if (readyCondition.isPresent() && readyCondition.get().getMessage() != null) {
      return reasonAndMessage(readyCondition.get().getReason(), readyCondition.get().getMessage());
    }
    if (status != null && "Running".equals(status.getPhase())) {
      return "running, readiness probe not passing yet";
    }
    return "phase " + (status == null || status.getPhase() == null ? "Pending" : status.getPhase());
  }

  private static String restarts(V1ContainerStatus container) {
    int restarts = container.getRestartCount() == null ? 0 : container.getRestartCount();
    return restarts == 0 ? "" : " after " + restarts + (restarts == 1 ? " restart" : " restarts");
  }

  private static String reasonAndMessage(String reason, String message) {
    if (reason == null) {
      return message == null ? "no reason given" : message;
    }
    return message == null || message.isBlank() ? reason : reason + ": " + message;
  }

  private static Optional<V1PodCondition> condition(V1Pod pod, String type) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return pod.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()))
        .findFirst();
  }
}
