package dev.lorafleet.coordinator.k8s;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounded exponential back-off between attempts: {@code initial}, twice that, ... never above
 * {@code max}, and at most {@code maxAttempts} attempts in all.
 */
public record Backoff(Duration initial, Duration max, int maxAttempts) {

  /** 0.5 s, 1 s, 2 s, 4 s, 8 s, 10 s...: six attempts over about 25 s. */
  public static final Backoff DEFAULT =
      new Backoff(Duration.ofMillis(500), Duration.ofSeconds(10), 6);

  public Backoff {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "back-off needs 0 <= initial <= max, got " + initial + " and " + max);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
  }

  /** The pause after failed attempt {@code attempt} (1-based). */
  public Duration delayAfter(int attempt) {
    Duration delay = initial;
    for (int i = 1; i < attempt && delay.compareTo(max) < 0; i++) {
      delay = delay.multipliedBy(2);
    }
    return delay.compareTo(max) > 0 ? max : delay;
  }
}
