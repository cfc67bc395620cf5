package dev.lorafleet.common.plan;

/**
 * Whether a job fits on one size of GPU.
 *
 * @param headroomBytes capacity minus the estimate; negative when it does not fit
 * @param maxMicroBatchSize the largest micro-batch at the job's {@code maxSeqLen} that fits (at
 *     most the global batch size); 0 when not even one sequence does
 */
public record GpuFit(GpuClass gpu, boolean fits, long headroomBytes, int maxMicroBatchSize) {}
