package dev.lorafleet.coordinator.k8s;

import java.time.Duration;
import java.util.Objects;

/**
 * How far and when the coordinator scales the worker pool.
 *
 * @param minWorkers fewest worker pods while jobs need workers (and while idle, without
 *     scale-to-zero)
 * @param maxWorkers most worker pods ever asked for: a cost ceiling
 * @param scaleToZero release every worker once nothing is queued or running for {@code idleGrace}
 * @param idleGrace how long the pool must have been idle before it is released, so that a job
 *     submitted right after another one finds the nodes still there
 * @param maxConcurrentJobs jobs that train at the same time; queued jobs beyond it wait
 */
public record ScalingPolicy(
    int minWorkers,
    int maxWorkers,
    boolean scaleToZero,
    Duration idleGrace,
    int maxConcurrentJobs) {

  /** The chart's defaults. */
  public static final ScalingPolicy DEFAULT =
      new ScalingPolicy(0, 16, true, Duration.ofMinutes(10), 1);

  public ScalingPolicy {
    Objects.requireNonNull(idleGrace, "idleGrace");
    if (minWorkers < 0) {
      throw new IllegalArgumentException("minWorkers must be 0 or more, got " + minWorkers);
    }
    if (maxWorkers < 1 || maxWorkers < minWorkers) {
      throw new IllegalArgumentException(
          "maxWorkers must be at least 1 and at least minWorkers ("
              + minWorkers
              + "), got "
              + maxWorkers);
    }
    if (idleGrace.isNegative()) {
      throw new IllegalArgumentException("idleGrace must not be negative, got " + idleGrace);
    }
    if (maxConcurrentJobs < 1) {
      throw new IllegalArgumentException(
          "maxConcurrentJobs must be at least 1, got " + maxConcurrentJobs);
    }
  }
}
