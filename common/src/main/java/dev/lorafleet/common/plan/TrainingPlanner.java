package dev.lorafleet.common.plan;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.spec.JobSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Builds a {@link TrainingPlan} from a job spec, the model's {@code config.json} and, when the
 * caller has them, token counts and a throughput. Pure arithmetic: no files, no threads.
 *
 * <p>Time assumes the fleet scales linearly: each step moves only the adapter's gradients and
 * parameters (megabytes) between workers and coordinator, small next to the compute. Money is every
 * rented GPU for the epoch's wall time at the spec's price per GPU-hour, as the coordinator's cost
 * meter bills it.
 */
public final class TrainingPlanner {
  private TrainingPlanner() {}

  /** The LoRA config a job spec describes. */
  public static LoraConfig loraConfig(JobSpec.Lora lora) {
    return new LoraConfig(
        lora.r(), lora.alpha(), lora.dropout(), lora.targetModules(), lora.useRslora());
  }

  /** The plan for a job. */
  public static TrainingPlan plan(JobSpec spec, ModelConfig model, PlanInputs inputs) {
    LoraConfig lora = loraConfig(spec.lora());
    JobSpec.Training training = spec.training();
    JobSpec.Cluster cluster = spec.cluster();
    ParameterCounts parameters = ParameterCounts.of(model, lora);
    int micro = training.microBatchSize();
    int seqLen = training.maxSeqLen();
    MemoryEstimate memory = MemoryModel.estimate(model, lora, micro, seqLen);
    List<GpuFit> fits = new ArrayList<>();
    for (GpuClass gpu : GpuClass.values()) {
      long headroom = gpu.capacityBytes() - memory.total();
      fits.add(
          new GpuFit(
              gpu,
              headroom >= 0,
              headroom,
              MemoryModel.maxMicroBatchSize(
                  model, lora, seqLen, gpu.capacityBytes(), training.globalBatchSize())));
    }
    BatchPlan batch =
        new BatchPlan(
            cluster.workers(), cluster.gpusPerWorker(), training.globalBatchSize(), micro);

    List<EpochEstimate> epochs = new ArrayList<>();
    Integer stepsPerEpoch = null;
    TokenCounts tokens = inputs.tokens();
    Throughput throughput = inputs.throughput();
    if (tokens != null) {
      for (EpochTokens e : tokens.epochs()) {
        Double seconds = null;
        Double cost = null;
        if (throughput != null) {
          seconds = e.tokens() / (throughput.tokensPerSecondPerGpu() * batch.totalGpus());
          cost = seconds / 3600.0 * batch.totalGpus() * cluster.pricePerGpuHour();
        }
        epochs.add(new EpochEstimate(e.epoch(), e.samples(), e.tokens(), seconds, cost));
      }
      Long samples = tokens.epochs().get(0).samples();
      if (samples != null) {
        stepsPerEpoch =
            (int) ((samples + training.globalBatchSize() - 1) / training.globalBatchSize());
      }
    }
    List<String> unavailable = new ArrayList<>();
    if (inputs.tokensUnavailable() != null) {
      unavailable.add("tokens per epoch, time and money: " + inputs.tokensUnavailable());
    } else if (inputs.throughputUnavailable() != null) {
      unavailable.add("time and money: " + inputs.throughputUnavailable());
    }

    long trainable = parameters.trainableParams();
    List<String> assumptions = new ArrayList<>();
    if (seqLen > model.maxPositionEmbeddings()) {
      assumptions.add(
          String.format(
              Locale.ROOT,
              "warning: maxSeqLen %d is longer than the model's max_position_embeddings %d;"
                  + " positions beyond it were never trained",
              seqLen,
              model.maxPositionEmbeddings()));
    }
    assumptions.addAll(MemoryModel.assumptions(model, lora, micro, seqLen));
    assumptions.add(batch.describe());
    if (tokens != null) {
      assumptions.add("tokens: " + tokens.source());
      tokens.notes().forEach(note -> assumptions.add("tokens: " + note));
    }
    if (throughput != null && tokens != null) {
      assumptions.add(
          String.format(
              Locale.ROOT,
              "time: tokens ÷ (%.1f tokens/s per GPU, %s, × %d GPUs); the fleet scales linearly"
                  + " since each step exchanges only the adapter's gradients and parameters"
                  + " (%.1f MB each way per worker)",
              throughput.tokensPerSecondPerGpu(),
              throughput.source(),
              batch.totalGpus(),
              trainable * 4 / 1e6));
      assumptions.add(
          String.format(
              Locale.ROOT,
              "money: %d GPUs × wall hours × %s %s per GPU-hour; excludes node start-up, dataset"
                  + " loading and evaluation",
              batch.totalGpus(),
              formatPrice(cluster.pricePerGpuHour()),
              cluster.currency()));
    }
    return new TrainingPlan(
        spec.model(),
        model,
        lora,
        parameters,
        trainable * MemoryModel.FP32_BYTES,
        memory,
        fits,
        batch,
        stepsPerEpoch,
        epochs,
        throughput,
        cluster.pricePerGpuHour(),
        cluster.currency(),
        trainable * 16,
        assumptions,
        unavailable);
  }

  private static String formatPrice(double price) {
    return price == Math.rint(price) ? String.valueOf((long) price) : String.valueOf(price);
  }
}
