package dev.lorafleet.worker.training;

import dev.lorafleet.worker.model.Precision;

/**
 * How a {@link ShardTrainer} uses its node.
 *
 * @param devices number of model replicas: GPUs to use, or 0 for all GPUs (the CPU if none)
 * @param microBatchSize examples per forward/backward pass; gradients accumulate across them
 * @param precision null picks fp32 on the CPU and bf16 weights with fp32 adapters on GPUs
 * @param trainBase whether the base weights take gradients too (only the full-parameter comparison
 *     in {@code bench train-step}; a LoRA job never sets it)
 */
public record TrainerOptions(
    int devices, int microBatchSize, Precision precision, boolean trainBase) {
  public TrainerOptions {
    if (devices < 0) {
      throw new IllegalArgumentException("devices must be 0 (auto) or positive, is " + devices);
    }
    if (microBatchSize <= 0) {
      throw new IllegalArgumentException("microBatchSize must be positive, is " + microBatchSize);
    }
  }

  /** All devices, micro-batches of 4, automatic precision. */
  public static TrainerOptions defaults() {
    return new TrainerOptions(0, 4, null, false);
  }

  public TrainerOptions withDevices(int value) {
    return new TrainerOptions(value, microBatchSize, precision, trainBase);
  }

  public TrainerOptions withMicroBatchSize(int value) {
    return new TrainerOptions(devices, value, precision, trainBase);
  }

  public TrainerOptions withPrecision(Precision value) {
    return new TrainerOptions(devices, microBatchSize, value, trainBase);
  }

  public TrainerOptions withTrainBase(boolean value) {
    return new TrainerOptions(devices, microBatchSize, precision, value);
  }
}
