package dev.lorafleet.coordinator.job;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.spec.JobSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the job runner needs from an accepted job spec (a validated {@code JobSpec} maps onto it).
 * Kept apart from the spec classes so the training loop does not change when the spec grows.
 */
public record JobSettings(
    String name,
    Path model,
    List<TrainSet> datasets,
    List<EvalSet> evals,
    LoraConfig lora,
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

  /**
   * The settings of a validated spec; relative paths are resolved against {@code baseDir} (the
   * directory of the spec file, or the coordinator's working directory).
   */
  public static JobSettings from(JobSpec spec, Path baseDir) {
    JobSpec.Training t = spec.training();
    return new JobSettings(
        spec.name(),
        baseDir.resolve(spec.model()).normalize(),
        spec.datasets().stream()
            .map(d -> new TrainSet(baseDir.resolve(d.path()).normalize(), d.weight()))
            .toList(),
        spec.eval().stream()
            .map(e -> new EvalSet(e.name(), baseDir.resolve(e.path()).normalize()))
            .toList(),
        new LoraConfig(
            spec.lora().r(),
            spec.lora().alpha(),
            spec.lora().dropout(),
            spec.lora().targetModules(),
            spec.lora().useRslora()),
        t.epochs(),
        t.learningRate(),
        t.scheduler().name().toLowerCase(Locale.ROOT),
        t.warmupSteps(),
        t.globalBatchSize(),
        t.seed(),
        t.weightDecay(),
        t.maxGradNorm(),
        spec.cluster().workers(),
        spec.cluster().gpusPerWorker(),
        spec.cluster().pricePerGpuHour(),
        spec.cluster().currency(),
        spec.checkpoint().everySteps(),
        spec.checkpoint().keepLast());
  }

  /** A training dataset and its mixing weight. */
  public record TrainSet(Path path, double weight) {}

  /** A named eval set. */
  public record EvalSet(String name, Path path) {}
}
