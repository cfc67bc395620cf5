package dev.lorafleet.coordinator.job.optim;

/**
 * What the coordinator does with one step's reduced gradient sum: divide by the step's token count,
 * refuse NaN/Inf (the step is skipped, the adapter untouched), clip the global norm, and step AdamW
 * at the schedule's rate.
 */
public final class GradientStep {
  /** What happened to one step. */
  public record Outcome(boolean applied, double gradNorm, double lr, String skipReason) {}

  private final AdamW optimizer;
  private final LrSchedule schedule;
  private final double maxGradNorm;

  public GradientStep(AdamW optimizer, LrSchedule schedule, double maxGradNorm) {
    this.optimizer = optimizer;
    this.schedule = schedule;
    this.maxGradNorm = maxGradNorm;
  }

  /**
   * Applies one step. {@code gradientSum} is overwritten with the averaged, clipped gradient.
   *
   * @param scheduleStep optimizer steps taken so far (skipped steps included, as the schedule
   *     follows the data, not the updates)
   */
  public Outcome apply(float[] gradientSum, long tokenCount, long scheduleStep) {
    double lr = schedule.lr(scheduleStep);
    if (tokenCount <= 0) {
      return new Outcome(false, 0.0, lr, "the step had no trainable tokens");
    }
    float inverse = (float) (1.0 / tokenCount);
    double sumSquares = 0.0;
    for (int i = 0; i < gradientSum.length; i++) {
      float g = gradientSum[i] * inverse;
      gradientSum[i] = g;
      sumSquares += (double) g * g;
    }
    double norm = Math.sqrt(sumSquares);
    if (!Double.isFinite(norm)) {
      return new Outcome(false, norm, lr, "the gradient contains NaN or Inf");
    }
    if (maxGradNorm > 0) {
      // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
      double coefficient = maxGradNorm / (norm + 1e-6);
      if (coefficient < 1.0) {
        float c = (float) coefficient;
        for (int i = 0; i < gradientSum.length; i++) {
          gradientSum[i] *= c;
        }
      }
    }
    optimizer.step(gradientSum, lr);
    return new Outcome(true, norm, lr, null);
  }

  public AdamW optimizer() {
    return optimizer;
  }

  public LrSchedule schedule() {
    return schedule;
  }
}
