package dev.lorafleet.common.transport;

import java.util.List;

/**
 * The sum of every expected worker's gradient for one step, added in a fixed order (workers sorted
 * by id) so that it is bitwise the same whatever order and interleaving the chunks arrived in.
 *
 * @param jobId the job
 * @param step the global step
 * @param round the gather round within the step (0 unless the coordinator gathers a step twice)
 * @param sum element-wise sum in fp32, in the adapter layout; owned by the caller from now on
 * @param tokenCount sum of the workers' token counts (divide {@code sum} by it for the mean)
 * @param lossSum sum of the workers' per-token loss sums
 * @param workers the workers whose vectors are in the sum, in the order they were added
 */
public record ReducedGradient(
    String jobId,
    long step,
    int round,
    float[] sum,
    long tokenCount,
    double lossSum,
    List<String> workers) {}
