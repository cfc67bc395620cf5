package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: this worker could not compute its share of round {@code round} of a step (a
 * crash in the model code, a device error). The coordinator counts it against the job's error
 * budget; {@code round} fences a late report of an older round ({@link #UNKNOWN_ROUND} when the
 * worker does not know it).
 */
public record StepFailed(
    String jobId, long step, int round, long membershipEpoch, String workerId, String message)
    implements ControlMessage {

  /** The round of a report that names none: taken as the coordinator's current round. */
  public static final int UNKNOWN_ROUND = -1;

  public StepFailed(
      String jobId, long step, long membershipEpoch, String workerId, String message) {
    this(jobId, step, UNKNOWN_ROUND, membershipEpoch, workerId, message);
  }
}
