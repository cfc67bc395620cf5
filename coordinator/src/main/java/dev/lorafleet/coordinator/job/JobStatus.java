package dev.lorafleet.coordinator.job;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import java.util.List;

/**
 * A job as the API shows it (field names follow DESIGN.md's job object).
 *
 * @param error why the job failed, or {@code null}
 */
public record JobStatus(
    String id,
    String name,
    JobState state,
    int epoch,
    long step,
    long totalSteps,
    double loss,
    double tokensPerSecond,
    double etaSeconds,
    double cost,
    double projectedCost,
    String currency,
    List<EpochReport> epochs,
    String error) {
  public JobStatus {
    epochs = List.copyOf(epochs);
  }
}
