package dev.lorafleet.coordinator.job.optim;

import java.util.Locale;

/**
 * Learning rate as a function of the number of optimizer steps already taken, the same multipliers
 * as Hugging Face transformers' {@code get_*_schedule_with_warmup}: the trainer calls the scheduler
 * after each optimizer step, so step 0 runs with {@code lr(0)} (0 when there is warmup).
 */
public final class LrSchedule {
  /** The schedule shapes the job spec accepts. */
  public enum Kind {
    CONSTANT,
    LINEAR,
    COSINE
  }

  private final Kind kind;
  private final double baseLr;
  private final long warmupSteps;
  private final long totalSteps;

  public LrSchedule(Kind kind, double baseLr, long warmupSteps, long totalSteps) {
    if (warmupSteps < 0 || totalSteps < 0) {
      throw new IllegalArgumentException(
          "warmupSteps (" + warmupSteps + ") and totalSteps (" + totalSteps + ") must be >= 0");
    }
    this.kind = kind;
    this.baseLr = baseLr;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
  }

  /** Parses the spec's scheduler name ({@code cosine}, {@code linear}, {@code constant}). */
  public static Kind kindOf(String name) {
    return switch (name.toLowerCase(Locale.ROOT).replace("_with_warmup", "")) {
      case "cosine" -> Kind.COSINE;
      case "linear" -> Kind.LINEAR;
      case "constant" -> Kind.CONSTANT;
      default ->
          throw new IllegalArgumentException(
              "unknown scheduler '" + name + "'; use cosine, linear or constant");
    };
  }

  /** The learning rate for the optimizer step that follows {@code step} completed steps. */
  public double lr(long step) {
    return baseLr * multiplier(step);
  }

  double multiplier(long step) {
    if (step < warmupSteps) {
      return (double) step / Math.max(1L, warmupSteps);
    }
    return switch (kind) {
      case CONSTANT -> 1.0;
      case LINEAR ->
          Math.max(0.0, (double) (totalSteps - step) / Math.max(1L, totalSteps - warmupSteps));
      case COSINE -> {
        double progress = (double) (step - warmupSteps) / Math.max(1L, totalSteps - warmupSteps);
        yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
      }
    };
  }

  public Kind kind() {
    return kind;
  }

  public long totalSteps() {
    return totalSteps;
  }
}
