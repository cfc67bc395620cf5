package dev.lorafleet.coordinator.checkpoint;

import java.util.List;

/**
 * {@code trainer_state.json}: where the run is, enough to resume it exactly.
 *
 * @param epoch the epoch the next step belongs to (0-based)
 * @param globalStep steps completed (applied or skipped)
 * @param stepInEpoch the data cursor: steps of {@code epoch} already done
 * @param seed the job's seed (data order and dropout derive from it)
 * @param optimizerSteps AdamW updates applied (bias correction counts these)
 * @param skippedSteps steps skipped for NaN/Inf gradients
 * @param lossHistory mean train loss of every completed step, in order
 * @param epochProgress what the epoch in progress has trained so far (null in checkpoints written
 *     at an epoch boundary by older versions), so a resumed run reports whole epochs
 */
public record TrainerState(
    int epoch,
    long globalStep,
    int stepInEpoch,
    long seed,
    long optimizerSteps,
    long skippedSteps,
    List<LossPoint> lossHistory,
    EpochProgress epochProgress) {

  public TrainerState {
    lossHistory = List.copyOf(lossHistory);
  }

  /** The running totals of the epoch in progress. */
  public record EpochProgress(
      long samples, long tokens, double lossSum, long skipped, int workers) {}

  /** One completed step's mean train loss. */
  public record LossPoint(long step, int epoch, double loss) {}
}
