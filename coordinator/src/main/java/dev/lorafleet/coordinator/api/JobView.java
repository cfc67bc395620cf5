package dev.lorafleet.coordinator.api;

import java.util.List;
import java.util.Objects;

/**
 * A job as the HTTP API shows it (DESIGN.md): {@code epoch} is the current epoch (1-based; 0 before
 * the first step), {@code step} the global steps done out of {@code totalSteps}, {@code loss} the
 * latest training loss, {@code cost} the money spent so far and {@code projectedCost} the expected
 * total, both in {@code currency}; {@code epochs} holds the finished epochs as in {@code
 * report.json}. Values not known yet (no step done, no ETA) are null.
 *
 * <p>{@code error} (beside the contract): why a FAILED job failed, null otherwise.
 */
public record JobView(
    String id,
    String name,
    JobState state,
    int epoch,
    long step,
    long totalSteps,
    Double loss,
    Double tokensPerSecond,
    Double etaSeconds,
    Double cost,
    Double projectedCost,
    String currency,
    List<EpochReport> epochs,
    String error) {

  public JobView {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(state, "state");
    loss = Views.finiteOrNull(loss);
    tokensPerSecond = Views.finiteOrNull(tokensPerSecond);
    etaSeconds = Views.finiteOrNull(etaSeconds);
    cost = Views.finiteOrNull(cost);
    projectedCost = Views.finiteOrNull(projectedCost);
    epochs = epochs == null ? List.of() : List.copyOf(epochs);
  }

  /** A job just accepted: nothing run, nothing spent. */
  public static JobView queued(String id, String name, long totalSteps, String currency) {
    return new JobView(
        id,
        name,
        JobState.QUEUED,
        0,
        0,
        totalSteps,
        null,
        null,
        null,
        0.0,
        null,
        currency,
        List.of(),
        null);
  }
}
