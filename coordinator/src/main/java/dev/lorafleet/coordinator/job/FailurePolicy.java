package dev.lorafleet.coordinator.job;

import java.time.Duration;

/**
 * How the coordinator tells a preemption from a bug. A worker that leaves, dies, freezes or is
 * downed is a preemption: its share is planned again, without limit. A worker that reports a real
 * error (its step or its job preparation failed: a crash in the model code, a device error, a full
 * disk) uses up one of the job's {@code jobErrorBudget}: the step (or the preparation) is retried,
 * and the error after the budget fails the job with the first error as its cause. A worker with
 * {@code quarantineAfter} errors within {@code quarantineWindow} is put aside for {@code
 * quarantineFor}: no shares, no new jobs.
 *
 * <p>Errors in the job's own input (a bad dataset line, an unreadable model directory) are not
 * retried at all: every worker would hit them the same way, so the job fails at once with the
 * file:line message.
 */
public record FailurePolicy(
    int jobErrorBudget, int quarantineAfter, Duration quarantineWindow, Duration quarantineFor) {

  public FailurePolicy {
    if (jobErrorBudget < 0) {
      throw new IllegalArgumentException(
          "the job error budget must be 0 or more, not " + jobErrorBudget);
    }
    if (quarantineAfter < 1) {
      throw new IllegalArgumentException(
          "a worker is put aside after 1 or more errors, not " + quarantineAfter);
    }
    if (quarantineWindow.isNegative()
        || quarantineWindow.isZero()
        || quarantineFor.isNegative()
        || quarantineFor.isZero()) {
      throw new IllegalArgumentException(
          "the quarantine window and duration must be positive, not "
              + quarantineWindow
              + " and "
              + quarantineFor);
    }
  }

  /** 3 errors per job; a worker with 2 errors in 10 minutes is put aside for 10 minutes. */
  public static FailurePolicy defaults() {
    return new FailurePolicy(3, 2, Duration.ofMinutes(10), Duration.ofMinutes(10));
  }

  public FailurePolicy withJobErrorBudget(int budget) {
    return new FailurePolicy(budget, quarantineAfter, quarantineWindow, quarantineFor);
  }

  public FailurePolicy withQuarantine(int after, Duration window, Duration duration) {
    return new FailurePolicy(jobErrorBudget, after, window, duration);
  }
}
