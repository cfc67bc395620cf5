package dev.lorafleet.coordinator.k8s;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Decides how many worker pods the pool should hold for the jobs there are: a pure function of the
 * jobs' {@code cluster.workers} and states, the policy and how long the pool has been idle. Rented
 * GPU nodes are held only while jobs need them.
 *
 * <p>Jobs that hold workers (waiting for them, running, or paused because every worker went away)
 * get theirs; free slots up to {@link ScalingPolicy#maxConcurrentJobs()} go to queued jobs in
 * submission order. Finished jobs hold none. The sum is kept within [{@code minWorkers}, {@code
 * maxWorkers}]. With nothing to do, the pool is released after the idle grace when scale-to-zero is
 * on, and otherwise kept as it is.
 */
public final class ReplicaPlanner {

  private ReplicaPlanner() {}

  /**
   * @param jobs every job the coordinator knows, in submission order
   * @param currentReplicas the worker StatefulSet's replicas now
   * @param idleFor how long no job has needed workers ({@link Duration#ZERO} when some does)
   * @param policy the limits
   */
  public static ReplicaDecision plan(
      List<JobDemand> jobs, int currentReplicas, Duration idleFor, ScalingPolicy policy) {
    Objects.requireNonNull(idleFor, "idleFor");
    List<JobDemand> served = new ArrayList<>();
    for (JobDemand job : jobs) {
      if (job.phase().holdsWorkers()) {
        served.add(job);
      }
    }
    int slots = policy.maxConcurrentJobs() - served.size();
    for (JobDemand job : jobs) {
      if (slots <= 0) {
        break;
      }
      if (job.phase() == JobDemand.Phase.QUEUED) {
        served.add(job);
        slots--;
      }
    }
    List<String> ids = served.stream().map(JobDemand::jobId).toList();

    if (served.isEmpty()) {
      return idle(currentReplicas, idleFor, policy);
    }
    long wanted = served.stream().mapToLong(JobDemand::workers).sum();
    String jobsText = describe(served);
    if (wanted > policy.maxWorkers()) {
      return new ReplicaDecision(
          policy.maxWorkers(),
          jobsText
              + " want "
              + wanted
              + " workers; holding the maximum of "
              + policy.maxWorkers()
              + " (scaling.maxWorkers)",
          ids,
          true);
    }
    if (wanted < policy.minWorkers()) {
      return new ReplicaDecision(
          policy.minWorkers(),
          jobsText + " want " + wanted + "; holding the minimum of " + policy.minWorkers(),
          ids,
          false);
    }
    return new ReplicaDecision((int) wanted, jobsText, ids, false);
  }

  private static ReplicaDecision idle(int currentReplicas, Duration idleFor, ScalingPolicy policy) {
    int kept = Math.min(Math.max(currentReplicas, policy.minWorkers()), policy.maxWorkers());
    if (!policy.scaleToZero()) {
      return new ReplicaDecision(
          kept,
          "no job needs workers; keeping " + kept + " (scale-to-zero is off)",
          List.of(),
          false);
    }
    if (idleFor.compareTo(policy.idleGrace()) >= 0) {
      return new ReplicaDecision(
          0,
          "no job queued or running for "
              + Durations.format(idleFor)
              + "; releasing every worker node",
          List.of(),
          false);
    }
    return new ReplicaDecision(
        kept,
        "no job needs workers; keeping "
            + kept
            + " for "
            + Durations.format(policy.idleGrace().minus(idleFor))
            + " more in case one is submitted",
        List.of(),
        false);
  }

  private static String describe(List<JobDemand> served) {
    List<String> parts = new ArrayList<>();
    for (JobDemand job : served) {
      String state =
          switch (job.phase()) {
            case RUNNING -> "running";
            case WAITING_FOR_WORKERS -> "waiting";
            case QUEUED -> "next in queue";
            default -> job.phase().name().toLowerCase(java.util.Locale.ROOT);
          };
      parts.add(
          "job "
              + job.name()
              + " ("
              + state
              + ", "
              + job.workers()
              + (job.workers() == 1 ? " worker)" : " workers)"));
    }
    return String.join(", ", parts);
  }
}
