package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: the job cannot run on this worker, and why (naming node and path). {@code
 * inputError} says the job's own input is at fault (a bad dataset line, an unreadable model
 * directory, a spec the worker refuses): that fails the same on every worker, so the job fails at
 * once. Otherwise the node is at fault (disk, memory, device) and the job retries elsewhere within
 * its error budget.
 */
public record JobPrepareFailed(String jobId, String workerId, String message, boolean inputError)
    implements ControlMessage {

  /** A failure of the node, not of the job's input. */
  public JobPrepareFailed(String jobId, String workerId, String message) {
    this(jobId, workerId, message, false);
  }
}
