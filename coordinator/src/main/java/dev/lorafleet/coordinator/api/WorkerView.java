package dev.lorafleet.coordinator.api;

/**
 * A worker node as {@code GET /api/v1/workers} shows it: its node name and cluster address, how
 * many devices of which kind it trains on ({@code cuda} or {@code cpu}), what it is doing, the job
 * it works for (null when idle) and when it joined (ISO-8601 UTC).
 */
public record WorkerView(
    String name,
    String address,
    int devices,
    String deviceKind,
    State state,
    String jobId,
    String joinedAt) {

  /** A worker's part in the cluster as the coordinator sees it. */
  public enum State {
    /** Joined, loading or waiting for work. */
    IDLE,
    /** Holding a share of a job's steps. */
    BUSY,
    /** Told to go (SIGTERM, spot notice); handing back its share. */
    LEAVING,
    /** Missed its heartbeats or the progress watchdog; its share went to others. */
    UNREACHABLE,
    /** Put aside after repeated errors (coordinator option --quarantine-seconds). */
    QUARANTINED
  }
}
