package dev.lorafleet.coordinator.job;

import java.util.List;

/** {@code report.json}: the job's per-epoch time and cost (field names are the contract). */
public record JobReport(
    String jobId,
    String name,
    String state,
    String currency,
    double totalCost,
    List<EpochReport> epochs) {
  public JobReport {
    epochs = List.copyOf(epochs);
  }
}
