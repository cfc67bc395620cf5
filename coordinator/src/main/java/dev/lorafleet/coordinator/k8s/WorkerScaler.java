package dev.lorafleet.coordinator.k8s;

import java.time.Duration;

/**
 * Sets how many worker nodes the fleet holds and says how they are doing. Every method blocks on
 * network calls: run it on a blocking executor, never on an actor's dispatcher.
 */
public interface WorkerScaler {

  /** False where scaling is off (outside Kubernetes); {@link #status()} then says why. */
  boolean enabled();

  /** Sets the worker pool to {@code replicas} pods; returns once the API has accepted it. */
  ScaleResult scale(int replicas);

  /**
   * Waits until the first {@code replicas} worker pods are ready, at most {@code bound}; a pod that
   * is still not ready then is reported with what Kubernetes says about it.
   */
  ReadinessResult awaitReady(int replicas, Duration bound);

  /** The pool as {@code GET /api/v1/workers} shows it. */
  WorkerPoolStatus status();
}
