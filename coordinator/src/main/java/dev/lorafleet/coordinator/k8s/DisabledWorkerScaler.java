package dev.lorafleet.coordinator.k8s;

import java.time.Duration;

/** The scaler outside Kubernetes: scales nothing and says why. */
public final class DisabledWorkerScaler implements WorkerScaler {

  /** The reason when the coordinator does not run in Kubernetes at all. */
  public static final String NOT_IN_KUBERNETES =
      "worker scaling is off: not running in Kubernetes (LORAFLEET_K8S_STATEFULSET not set)";

  private final String reason;

  public DisabledWorkerScaler(String reason) {
    this.reason = reason;
  }

  /** Outside Kubernetes. */
  public static DisabledWorkerScaler notInKubernetes() {
    return new DisabledWorkerScaler(NOT_IN_KUBERNETES);
  }

  public String reason() {
    return reason;
  }

  @Override
  public boolean enabled() {
    return false;
  }

  @Override
  public ScaleResult scale(int replicas) {
    return new ScalerFailure(ScalerFailure.Reason.DISABLED, reason);
  }

  @Override
  public ReadinessResult awaitReady(int replicas, Duration bound) {
    return new ScalerFailure(ScalerFailure.Reason.DISABLED, reason);
  }

  @Override
  public WorkerPoolStatus status() {
    return WorkerPoolStatus.disabled(reason);
  }
}
