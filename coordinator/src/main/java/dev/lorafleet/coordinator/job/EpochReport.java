package dev.lorafleet.coordinator.job;

import java.util.Map;

/**
 * One epoch's line of {@code report.json} (field names are the contract in DESIGN.md).
 *
 * @param epoch 1-based epoch number
 * @param samples training samples of the epoch, each counted once however workers came and went
 * @param tokens trainable (response) tokens of those samples
 * @param seconds wall time of the epoch
 * @param gpuHours device-hours held during the epoch
 * @param cost {@code gpuHours × pricePerGpuHour}
 * @param tokensPerSecond {@code tokens / seconds}
 * @param trainLoss token-weighted mean train loss of the epoch
 * @param evalLoss mean loss per eval set, measured at the epoch's end
 * @param workers most workers that trained at once during the epoch
 * @param skippedSteps steps skipped for NaN/Inf gradients
 */
public record EpochReport(
    int epoch,
    long samples,
    long tokens,
    double seconds,
    double gpuHours,
    double cost,
    double tokensPerSecond,
    double trainLoss,
    Map<String, Double> evalLoss,
    int workers,
    long skippedSteps) {}
