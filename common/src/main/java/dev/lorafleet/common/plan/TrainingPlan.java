package dev.lorafleet.common.plan;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import java.util.List;

/**
 * Everything {@code lorafleet plan} reports for a job: parameters, memory per GPU, fit per GPU
 * size, the fleet and its batch split, and tokens, time and money per epoch where they can be
 * known. Built by {@link TrainingPlanner}; written as JSON by {@link PlanJson}.
 *
 * @param model the model as the spec names it
 * @param adapterBytes the adapter's fp32 tensor bytes ({@code adapter_model.safetensors} minus its
 *     header)
 * @param stepsPerEpoch optimizer steps in the first epoch, or null when the sample count is unknown
 * @param epochs one entry per epoch, empty when tokens are unavailable
 * @param throughput null when unavailable
 * @param coordinatorBytes memory the coordinator needs for this job's optimizer: fp32 master copy,
 *     two AdamW moments and the gradient sum, 16 bytes per trainable parameter
 * @param unavailable why figures are missing (tokens, throughput), empty when none is
 */
public record TrainingPlan(
    String model,
    ModelConfig config,
    LoraConfig lora,
    ParameterCounts parameters,
    long adapterBytes,
    MemoryEstimate memoryPerGpu,
    List<GpuFit> fitsOn,
    BatchPlan batch,
    Integer stepsPerEpoch,
    List<EpochEstimate> epochs,
    Throughput throughput,
    double pricePerGpuHour,
    String currency,
    long coordinatorBytes,
    List<String> assumptions,
    List<String> unavailable) {

  public TrainingPlan {
    fitsOn = List.copyOf(fitsOn);
    epochs = List.copyOf(epochs);
    assumptions = List.copyOf(assumptions);
    unavailable = List.copyOf(unavailable);
  }

  /** Mean training tokens per epoch, or null when unavailable. */
  public Long tokensPerEpoch() {
    if (epochs.isEmpty()) {
      return null;
    }
    long sum = 0;
    for (EpochEstimate e : epochs) {
      sum += e.tokens();
    }
    return Math.round(sum / (double) epochs.size());
  }

  /** Mean wall seconds per epoch, or null without tokens or throughput. */
  public Double secondsPerEpoch() {
    Double total = sum(true);
    return total == null ? null : total / epochs.size();
  }

  /** Mean money per epoch, or null without tokens or throughput. */
  public Double costPerEpoch() {
    Double total = totalCost();
    return total == null ? null : total / epochs.size();
  }

  /** Money for all epochs, or null without tokens or throughput. */
  public Double totalCost() {
    return sum(false);
  }

  /** The smallest GPU size this job fits on, or null when it fits on none. */
  public GpuClass smallestFit() {
    for (GpuFit fit : fitsOn) {
      if (fit.fits()) {
        return fit.gpu();
      }
    }
    return null;
  }

  private Double sum(boolean seconds) {
    if (epochs.isEmpty() || throughput == null) {
      return null;
    }
    double total = 0;
    for (EpochEstimate e : epochs) {
      total += seconds ? e.seconds() : e.cost();
    }
    return total;
  }
}
