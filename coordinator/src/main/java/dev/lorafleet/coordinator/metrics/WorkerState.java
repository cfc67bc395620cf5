package dev.lorafleet.coordinator.metrics;

import java.util.Locale;

/** What the coordinator knows about a worker node, as the {@code state} label of workers. */
public enum WorkerState {
  /** Registered, still loading the base model or receiving the adapter parameters. */
  JOINING,
  /** Ready, with no job to train. */
  IDLE,
  /** Training a job's steps. */
  BUSY,
  /** The cluster cannot reach it; its share is being reassigned unless it comes back. */
  UNREACHABLE;

  /** The label value: the name in lower case. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
