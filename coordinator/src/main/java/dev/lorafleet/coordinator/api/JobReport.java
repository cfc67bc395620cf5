package dev.lorafleet.coordinator.api;

import java.util.List;

/**
 * {@code <dataDir>/jobs/<jobId>/report.json} (DESIGN.md, On disk): the job's outcome and its
 * per-epoch time and cost.
 */
public record JobReport(
    String jobId,
    String name,
    JobState state,
    String currency,
    double totalCost,
    List<EpochReport> epochs) {

  public JobReport {
    epochs = epochs == null ? List.of() : List.copyOf(epochs);
  }
}
