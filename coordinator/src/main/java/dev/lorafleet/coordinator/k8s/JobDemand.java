package dev.lorafleet.coordinator.k8s;

/**
 * What one job asks of the worker pool: its {@code cluster.workers} and where it is in its life.
 * The coordinator maps its jobs to these, in submission order, before asking {@link ReplicaPlanner}
 * for a replica count.
 *
 * @param jobId the job's id, for the decision's explanation
 * @param name the job's name, for the decision's explanation
 * @param phase where the job is
 * @param workers the job spec's {@code cluster.workers}
 */
public record JobDemand(String jobId, String name, Phase phase, int workers) {

  public JobDemand {
    if (workers < 1) {
      throw new IllegalArgumentException(
          "job " + jobId + ": cluster.workers must be at least 1, got " + workers);
    }
  }

  /** A job's state as the API reports it, reduced to what matters for scaling. */
  public enum Phase {
    /** Submitted, not started: needs workers when a slot for it frees up. */
    QUEUED,
    /** Started, waiting for its workers to join: needs them now. */
    WAITING_FOR_WORKERS,
    /** Training: needs its workers. */
    RUNNING,
    /** Paused by a user: holds no workers (nodes cost money while a job is paused). */
    PAUSED,
    /** Succeeded, failed or cancelled. */
    FINISHED;

    /**
     * The phase for a job state name of the API ({@code QUEUED}, {@code WAITING_FOR_WORKERS},
     * {@code RUNNING}, {@code PAUSED}, {@code SUCCEEDED}, {@code FAILED}, {@code CANCELLED}).
     */
    public static Phase ofState(String state) {
      return switch (state) {
        case "QUEUED" -> QUEUED;
        case "WAITING_FOR_WORKERS" -> WAITING_FOR_WORKERS;
        case "RUNNING" -> RUNNING;
        case "PAUSED" -> PAUSED;
        case "SUCCEEDED", "FAILED", "CANCELLED" -> FINISHED;
        default -> throw new IllegalArgumentException("unknown job state '" + state + "'");
      };
    }

    /**
     * Whether the job needs its workers now. A PAUSED job lost every worker (preempted nodes) and
     * resumes as soon as workers come back, so the pool asks for them again.
     */
    boolean holdsWorkers() {
      return this == WAITING_FOR_WORKERS || this == RUNNING || this == PAUSED;
    }
  }
}
