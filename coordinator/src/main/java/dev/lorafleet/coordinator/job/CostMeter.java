package dev.lorafleet.coordinator.job;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Money a job has spent: every worker held for the job costs its devices × price per device-hour
 * from the moment it is held (waiting counts: a rented node costs money whether it trains or not)
 * until it is released. Time comes from the caller, so tests drive it with a fixed clock.
 */
public final class CostMeter {
  private record Held(int devices, Instant since) {}

  private final double pricePerGpuHour;
  private final Map<String, Held> held = new HashMap<>();
  private double closedDeviceSeconds;

  public CostMeter(double pricePerGpuHour) {
    this.pricePerGpuHour = pricePerGpuHour;
  }

  /** Starts counting a worker; a worker already held keeps its start. */
  public void hold(String workerId, int devices, Instant at) {
    held.putIfAbsent(workerId, new Held(devices, at));
  }

  /** Stops counting a worker (it left, or the job released it). */
  public void release(String workerId, Instant at) {
    Held h = held.remove(workerId);
    if (h != null) {
      closedDeviceSeconds += h.devices() * seconds(h.since(), at);
    }
  }

  /** Stops counting every worker. */
  public void releaseAll(Instant at) {
    for (String id : held.keySet().toArray(String[]::new)) {
      release(id, at);
    }
  }

  /** Device-hours (GPU-hours; a CPU worker counts as one device) spent up to {@code at}. */
  public double gpuHours(Instant at) {
    double seconds = closedDeviceSeconds;
    for (Held h : held.values()) {
      seconds += h.devices() * seconds(h.since(), at);
    }
    return seconds / 3600.0;
  }

  /** Devices held right now. */
  public int devicesHeld() {
    return held.values().stream().mapToInt(Held::devices).sum();
  }

  public double cost(Instant at) {
    return costOf(gpuHours(at));
  }

  public double costOf(double gpuHours) {
    return gpuHours * pricePerGpuHour;
  }

  public double pricePerGpuHour() {
    return pricePerGpuHour;
  }

  private static double seconds(Instant from, Instant to) {
    return Math.max(0, Duration.between(from, to).toNanos()) / 1e9;
  }
}
