package dev.lorafleet.coordinator.job;

import java.nio.file.Path;
import java.util.List;

/**
 * What the job runner needs from an accepted job spec (a validated {@code JobSpec} maps onto it).
 * Kept apart from the spec classes so the training loop does not change when the spec grows.
 */
public record JobSettings(
    String name,
    Path model,
    List<TrainSet> datasets,
    List<EvalSet> evals,
    int epochs,
    double learningRate,
    String scheduler,
    int warmupSteps,
    int globalBatchSize,
    long seed,
    double weightDecay,
    double maxGradNorm,
    int workers,
    int gpusPerWorker,
    double pricePerGpuHour,
    String currency,
    int checkpointEverySteps,
    int keepLast) {

  public JobSettings {
    datasets = List.copyOf(datasets);
    evals = List.copyOf(evals);
  }

  /** A training dataset and its mixing weight. */
  public record TrainSet(Path path, double weight) {}

  /** A named eval set. */
  public record EvalSet(String name, Path path) {}
}
