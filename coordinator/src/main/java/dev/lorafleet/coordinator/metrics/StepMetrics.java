package dev.lorafleet.coordinator.metrics;

/**
 * What the coordinator knows once a global step is applied.
 *
 * @param step global steps done, this one included
 * @param epoch the epoch the step belongs to (1-based, as in report.json)
 * @param trainLoss mean loss per response token over the global batch
 * @param learningRate the learning rate the optimizer used for this step
 * @param gradNorm the global gradient norm before clipping
 * @param tokens response tokens in the global batch
 * @param samples examples in the global batch
 * @param tokensPerSecond the job's recent throughput, as the API reports it
 * @param etaSeconds estimated seconds to the end of the job, as the API reports it
 * @param phases where the step's wall time went (the broadcast of the new parameters is reported on
 *     its own, {@link CoordinatorMetrics.Job#onBroadcast})
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
   * Seconds of one step by phase, as the coordinator sees them.
   *
   * @param compute from handing out the step's shares until every worker's gradient sum has arrived
   *     and been added: the workers' forward and backward passes and the transfer, which overlap
   *     because the data plane adds chunks as they arrive
   * @param reduce from the complete sum to the optimizer starting on it: the hand-off to the job's
   *     optimizer thread (long when that thread is still writing a checkpoint or events)
   * @param optimizer averaging over the tokens, the NaN/Inf check, clipping and the AdamW update
   */
  public record PhaseSeconds(double compute, double reduce, double optimizer) {}
}
