package dev.lorafleet.common.plan;

/**
 * How one global batch spreads over the fleet: each step the coordinator splits it over the GPUs,
 * and each GPU runs its share in micro-batches, accumulating gradients.
 */
public record BatchPlan(int workers, int gpusPerWorker, int globalBatchSize, int microBatchSize) {

  public BatchPlan {
    if (workers < 1 || gpusPerWorker < 1 || globalBatchSize < 1 || microBatchSize < 1) {
      throw new IllegalArgumentException(
          "workers, gpusPerWorker, globalBatchSize and microBatchSize must be >= 1");
    }
  }

  public int totalGpus() {
    return workers * gpusPerWorker;
  }

  /** Samples the busiest GPU trains per step. */
  public int samplesPerGpu() {
    return (globalBatchSize + totalGpus() - 1) / totalGpus();
  }

  /** Micro-batches the busiest GPU runs per step. */
  public int accumulationSteps() {
    return (samplesPerGpu() + microBatchSize - 1) / microBatchSize;
  }

  /**
   * Whether every GPU gets the same whole number of full micro-batches: {@code globalBatchSize}
   * divisible by {@code GPUs × microBatchSize}. When not, training is still exact (the coordinator
   * averages over tokens), but some GPUs wait for others or run a partial micro-batch.
   */
  public boolean divides() {
    return globalBatchSize % ((long) totalGpus() * microBatchSize) == 0;
  }

  /** A sentence on how the batch divides, for people. */
  public String describe() {
    long unit = (long) totalGpus() * microBatchSize;
    if (divides()) {
      return String.format(
          "global batch %d = %d GPUs × micro-batch %d × %d accumulation steps",
          globalBatchSize, totalGpus(), microBatchSize, accumulationSteps());
    }
    if (globalBatchSize < totalGpus()) {
      return String.format(
          "global batch %d is smaller than the %d GPUs: %d GPUs idle every step",
          globalBatchSize, totalGpus(), totalGpus() - globalBatchSize);
    }
    long lower = globalBatchSize / unit * unit;
    long upper = lower + unit;
    return String.format(
        "global batch %d does not divide by %d GPUs × micro-batch %d = %d: GPUs get unequal"
            + " shares or a partial micro-batch (the result stays exact; the step waits for the"
            + " busiest GPU); %s%d would divide",
        globalBatchSize, totalGpus(), microBatchSize, unit, lower > 0 ? lower + " or " : "", upper);
  }
}
