package dev.lorafleet.coordinator.metrics;

/**
 * What the coordinator knows once a global step is applied.
 *
 * @param step the global step just completed (1-based: the number of steps done)
 * @param epoch the epoch the step belongs to
 * @param trainLoss mean loss per response token over the global batch
 * @param learningRate the learning rate the optimizer used for this step
 * @param gradNorm the global gradient norm before clipping
 * @param tokens response tokens in the global batch
 * @param samples examples in the global batch
 * @param tokensPerSecond the job's recent throughput, as the API reports it
 * @param etaSeconds estimated seconds to the end of the job, as the API reports it
 * @param phases where the step's wall time went
 */
public record StepMetrics(
    long step,
    int epoch,
    double trainLoss,
    double learningRate,
    double gradNorm,
    long tokens,
    long samples,
    double tokensPerSecond,
    double etaSeconds,
    PhaseSeconds phases) {

  /**
   * Seconds of one step by phase: workers computing their shares, gathering and adding the gradient
   * sums, the optimizer step, and sending the new adapter parameters back.
   */
  public record PhaseSeconds(double compute, double reduce, double optimizer, double broadcast) {}
}
