package dev.lorafleet.coordinator.k8s;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the worker StatefulSet at what the jobs need: each {@link #reconcile()} asks {@link
 * ReplicaPlanner} for a replica count from the jobs there are and, when it differs from the pool's,
 * asks the scaler for it. The caller runs it periodically on a thread that may block (Kubernetes
 * calls); it holds no thread of its own so tests drive it step by step with an injected clock.
 */
public final class PoolAutoscaler {
  private static final Logger LOG = LoggerFactory.getLogger(PoolAutoscaler.class);

  private final WorkerScaler scaler;
  private final ScalingPolicy policy;
  private final Supplier<List<JobDemand>> jobs;
  private final Clock clock;
  private Instant idleSince;
  private String lastReason;

  public PoolAutoscaler(
      WorkerScaler scaler, ScalingPolicy policy, Supplier<List<JobDemand>> jobs, Clock clock) {
    this.scaler = scaler;
    this.policy = policy;
    this.jobs = jobs;
    this.clock = clock;
  }

  /** One round: decide, and scale when the decision differs from the pool. */
  public ReplicaDecision reconcile() {
    List<JobDemand> demand = jobs.get();
    Instant now = clock.instant();
    boolean busy = demand.stream().anyMatch(j -> j.phase() != JobDemand.Phase.FINISHED);
    if (busy) {
      idleSince = null;
    } else if (idleSince == null) {
      idleSince = now;
    }
    Duration idleFor = idleSince == null ? Duration.ZERO : Duration.between(idleSince, now);
    Integer replicas = scaler.status().replicas();
    int current = replicas == null ? 0 : replicas;
    ReplicaDecision decision = ReplicaPlanner.plan(demand, current, idleFor, policy);
    if (decision.replicas() != current) {
      ScaleResult result = scaler.scale(decision.replicas());
      if (result instanceof ScalerFailure failure) {
        LOG.warn(
            "Could not scale the worker pool to {} ({}): {}",
            decision.replicas(),
            decision.reason(),
            failure.message());
      } else {
        LOG.info("{}: {}.", decision.reason(), result.message());
      }
    } else if (!decision.reason().equals(lastReason)) {
      LOG.info("Worker pool stays at {}: {}.", current, decision.reason());
    }
    lastReason = decision.reason();
    return decision;
  }
}
