package dev.lorafleet.coordinator.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One finished epoch, exactly as in {@code report.json} and the job JSON (DESIGN.md): {@code
 * samples} counts each training example once however many workers came and went; {@code cost} is
 * the epoch's GPU-hours at the job's price; {@code evalLoss} maps each eval set's name to its loss
 * at the epoch's end. Losses that are not finite are written as null.
 */
public record EpochReport(
    int epoch,
    long samples,
    long tokens,
    double seconds,
    double gpuHours,
    double cost,
    double tokensPerSecond,
    Double trainLoss,
    Map<String, Double> evalLoss,
    int workers,
    long skippedSteps) {

  public EpochReport {
    trainLoss = Views.finiteOrNull(trainLoss);
    Map<String, Double> losses = new LinkedHashMap<>();
    if (evalLoss != null) {
      evalLoss.forEach((name, loss) -> losses.put(name, Views.finiteOrNull(loss)));
    }
    // unmodifiable but null-tolerant (List/Map.copyOf refuse the nulls a NaN loss becomes)
    evalLoss = Collections.unmodifiableMap(losses);
  }
}
