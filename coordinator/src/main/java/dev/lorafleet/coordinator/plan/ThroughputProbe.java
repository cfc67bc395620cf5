package dev.lorafleet.coordinator.plan;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.plan.TrainingPlanner;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.coordinator.job.ShardPlanner;
import dev.lorafleet.worker.data.DatasetTokenizer;
import dev.lorafleet.worker.data.TokenizedDataset;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.training.ShardTrainer;
import dev.lorafleet.worker.training.TrainerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * {@code plan --probe}: measures training throughput on this machine with a few real steps of the
 * job, on one device (the first GPU, or the CPU), each step the share of the global batch one GPU
 * of the job's fleet would train, in the job's micro-batches, on the job's first examples in
 * training order. One untimed warm-up step comes first (kernel selection, allocator growth).
 */
public final class ThroughputProbe {
  private ThroughputProbe() {}

  /**
   * What the probe measured.
   *
   * @param tokens input tokens of the timed steps (prompt tokens included, as in the plan's token
   *     counts)
   */
  public record Measurement(
      int steps,
      int samplesPerStep,
      int microBatchSize,
      long tokens,
      double seconds,
      String device) {

    public double tokensPerSecond() {
      return tokens / seconds;
    }

    /** One sentence for the plan's assumptions. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "measured on this machine: %d step%s of %d samples (micro-batch %d, %,d tokens) on"
              + " one %s in %.2f s",
          steps,
          steps == 1 ? "" : "s",
          samplesPerStep,
          microBatchSize,
          tokens,
          device,
          seconds);
    }
  }

  /**
   * Runs the probe.
   *
   * @param spec a spec with absolute paths
   * @param steps timed steps, at least 1
   * @param progress receives a sentence before the model loads and after each step
   * @throws IllegalArgumentException when the weights, tokenizer or datasets are not here, naming
   *     what is missing
   */
  public static Measurement measure(JobSpec spec, int steps, Consumer<String> progress) {
    if (steps < 1) {
      throw new IllegalArgumentException("--probe needs at least 1 step, not " + steps);
    }
    Path modelDir = Path.of(spec.model());
    List<String> missing = new ArrayList<>();
    if (!Files.isRegularFile(modelDir.resolve("model.safetensors"))
        && !Files.isRegularFile(modelDir.resolve("model.safetensors.index.json"))) {
      missing.add("the model's weights (model.safetensors) in " + modelDir);
    }
    if (!Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
      missing.add("tokenizer.json in " + modelDir);
    }
    for (int i = 0; i < spec.datasets().size(); i++) {
      if (!Files.isRegularFile(Path.of(spec.datasets().get(i).path()))) {
        missing.add("datasets[" + i + "] " + spec.datasets().get(i).path());
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "--probe trains a few real steps and needs " + String.join(", ", missing));
    }
    JobSpec.Training training = spec.training();
    List<TokenizedExample> all = new ArrayList<>();
    int n = spec.datasets().size();
    int[] sizes = new int[n];
    double[] weights = new double[n];
    try (DatasetTokenizer tokenizer = DatasetTokenizer.open(modelDir, training.maxSeqLen())) {
      for (int i = 0; i < n; i++) {
        TokenizedDataset dataset =
            tokenizer.tokenize(
                Path.of(spec.datasets().get(i).path()), training.onBadRecord(), all.size());
        all.addAll(dataset.examples());
        sizes[i] = dataset.size();
        weights[i] = spec.datasets().get(i).weight();
      }
    }
    int[] order =
        new ShardPlanner(sizes, weights, training.globalBatchSize(), training.seed()).epochOrder(0);
    int gpus = spec.cluster().workers() * spec.cluster().gpusPerWorker();
    int share = (training.globalBatchSize() + gpus - 1) / gpus;
    LoraConfig lora = TrainingPlanner.loraConfig(spec.lora());
    TrainerOptions options =
        TrainerOptions.defaults().withDevices(1).withMicroBatchSize(training.microBatchSize());
    progress.accept("probe: loading " + modelDir.getFileName() + " for " + steps + " steps");
    try (ShardTrainer trainer = ShardTrainer.open(modelDir, lora, options)) {
      float[] adapter = trainer.initialAdapter(training.seed());
      int at = 0;
      long tokens = 0;
      long elapsed = 0;
      for (int s = 0; s <= steps; s++) {
        List<TokenizedExample> examples = new ArrayList<>(share);
        long stepTokens = 0;
        for (int k = 0; k < share; k++) {
          TokenizedExample e = all.get(order[at++ % order.length]);
          examples.add(e);
          stepTokens += e.inputIds().length;
        }
        long start = System.nanoTime();
        trainer.computeGradients(adapter, examples, training.seed() + s);
        long took = System.nanoTime() - start;
        if (s > 0) { // step 0 warms up
          tokens += stepTokens;
          elapsed += took;
        }
        progress.accept(
            String.format(
                Locale.ROOT,
                "probe: %s step %d: %,d tokens in %.2f s",
                s == 0 ? "warm-up" : "timed",
                s,
                stepTokens,
                took / 1e9));
      }
      return new Measurement(
          steps,
          share,
          training.microBatchSize(),
          tokens,
          Math.max(elapsed, 1) / 1e9,
          trainer.deviceKind().equals("gpu") ? "GPU" : "CPU");
    }
  }
}
