package dev.lorafleet.coordinator.metrics;

import java.util.Locale;

/** Why a step was skipped rather than applied, as the {@code reason} label of skipped steps. */
public enum SkipReason {
  /** A NaN or infinite value in the reduced gradient: it never reaches the adapter. */
  NON_FINITE_GRADIENT,
  /** The step's batch had no response tokens to learn from. */
  NO_TRAINABLE_TOKENS;

  /** The label value: the name in lower case. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
