package dev.lorafleet.coordinator.job;

/** A job's lifecycle, as the API reports it. */
public enum JobState {
  QUEUED,
  WAITING_FOR_WORKERS,
  RUNNING,
  PAUSED,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public boolean isTerminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
