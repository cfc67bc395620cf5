package dev.lorafleet.coordinator.api;

/** Where a job is in its life (DESIGN.md, HTTP API). The last three are terminal. */
public enum JobState {
  QUEUED,
  WAITING_FOR_WORKERS,
  RUNNING,
  PAUSED,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  /** Whether the job has ended and will not change again. */
  public boolean isTerminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
