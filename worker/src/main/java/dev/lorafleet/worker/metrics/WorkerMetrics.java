package dev.lorafleet.worker.metrics;

import dev.lorafleet.common.transport.DataPlaneCounters;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The metrics one worker process exposes about itself: how long its share of each step takes, its
 * throughput, its devices' memory and how long the base model took to load. Every series carries
 * {@code worker} (the node's name); per-job series carry {@code job} as well.
 *
 * <p>Plain Java on purpose: the training thread calls it directly and tests build it without an
 * actor system. Label values are resolved once per job in {@link #forJob(String)}.
 */
public final class WorkerMetrics {

  public static final String STEP_COMPUTE_SECONDS = "lorafleet_worker_step_compute_seconds";
  public static final String TOKENS_PER_SECOND = "lorafleet_worker_tokens_per_second";
  public static final String TOKENS_TOTAL = "lorafleet_worker_tokens_total";
  public static final String DEVICE_MEMORY_USED_BYTES = "lorafleet_worker_device_memory_used_bytes";
  public static final String DEVICE_MEMORY_TOTAL_BYTES =
      "lorafleet_worker_device_memory_total_bytes";
  public static final String MODEL_LOAD_SECONDS = "lorafleet_worker_model_load_seconds";

  /** The same series the coordinator exposes for its side of the data plane, here per worker. */
  public static final String TRANSPORT_DROPPED_FRAMES_TOTAL =
      "lorafleet_transport_dropped_frames_total";

  /** Step compute times from 10 ms to about 1.5 h (a 70B model on a slow node). */
  private static final double[] STEP_BUCKETS = exponential(0.01, 2, 20);

  private final String worker;
  private final Histogram stepCompute;
  private final Gauge tokensPerSecond;
  private final Counter tokens;
  private final Gauge modelLoad;
  private final Map<String, LongSupplier> droppedFrames = new ConcurrentHashMap<>();

  /**
   * Registers the worker's metrics in {@code registry}.
   *
   * @param worker the node's name, as the coordinator knows it (label {@code worker})
   * @param memory read at every scrape for the device memory gauges
   */
  public WorkerMetrics(PrometheusRegistry registry, String worker, DeviceMemoryProbe memory) {
    this.worker = Objects.requireNonNull(worker, "worker");
    Objects.requireNonNull(memory, "memory");
    Labels workerLabel = Labels.of("worker", worker);
    stepCompute =
        Histogram.builder()
            .name(STEP_COMPUTE_SECONDS)
            .help("Seconds this worker spent computing its share of a step (all its devices)")
            .unit(Unit.SECONDS)
            .constLabels(workerLabel)
            .labelNames("job")
            .classicOnly()
            .classicUpperBounds(STEP_BUCKETS)
            .register(registry);
    tokensPerSecond =
        Gauge.builder()
            .name(TOKENS_PER_SECOND)
            .help("Tokens per second this worker computed in its last share of a step")
            .constLabels(workerLabel)
            .labelNames("job")
            .register(registry);
    tokens =
        Counter.builder()
            .name(counterBaseName(TOKENS_TOTAL))
            .help("Tokens this worker has trained on")
            .constLabels(workerLabel)
            .labelNames("job")
            .register(registry);
    modelLoad =
        Gauge.builder()
            .name(MODEL_LOAD_SECONDS)
            .help(
                "Seconds the worker took to open its last job: loading the base model onto its"
                    + " devices and tokenizing the job's datasets")
            .unit(Unit.SECONDS)
            .constLabels(workerLabel)
            .register(registry);
    GaugeWithCallback.builder()
        .name(DEVICE_MEMORY_USED_BYTES)
        .help("Memory in use on a device (GPU: as CUDA reports it; cpu: process resident set)")
        .unit(Unit.BYTES)
        .constLabels(workerLabel)
        .labelNames("device")
        .callback(cb -> memory.read().forEach(m -> cb.call(m.usedBytes(), m.device())))
        .register(registry);
    GaugeWithCallback.builder()
        .name(DEVICE_MEMORY_TOTAL_BYTES)
        .help("Memory a device has in all (GPU: device memory; cpu: physical memory)")
        .unit(Unit.BYTES)
        .constLabels(workerLabel)
        .labelNames("device")
        .callback(cb -> memory.read().forEach(m -> cb.call(m.totalBytes(), m.device())))
        .register(registry);
    CounterWithCallback.builder()
        .name(counterBaseName(TRANSPORT_DROPPED_FRAMES_TOTAL))
        .help("Data-plane frames this worker dropped, by reason")
        .constLabels(workerLabel)
        .labelNames("reason")
        .callback(
            cb ->
                droppedFrames.forEach(
                    (reason, count) -> {
                      try {
                        cb.call(count.getAsLong(), reason);
                      } catch (RuntimeException e) {
                        // one unreadable counter must not fail the scrape; it is left out this time
                      }
                    }))
        .register(registry);
  }

  /**
   * Exposes the worker data plane's drop counters ({@code WorkerDataPlane::counters}), read at
   * every scrape.
   */
  public void registerDataPlane(Supplier<DataPlaneCounters> counters) {
    DataPlaneDrops.register(counters, droppedFrames::put);
  }

  /** The node name this instance labels its series with. */
  public String worker() {
    return worker;
  }

  /**
   * Records how long opening a job took: loading the base model onto every device (which dominates
   * for real models) and tokenizing the datasets.
   */
  public void onModelLoaded(Duration took) {
    modelLoad.set(seconds(took));
  }

  /** The series of one job, with its label values resolved once for the training loop. */
  public Job forJob(String jobId) {
    return new Job(
        jobId,
        stepCompute.labelValues(jobId),
        tokensPerSecond.labelValues(jobId),
        tokens.labelValues(jobId));
  }

  /** Drops a finished job's series so that a long-lived worker does not accumulate them. */
  public void forgetJob(String jobId) {
    stepCompute.remove(jobId);
    tokensPerSecond.remove(jobId);
    tokens.remove(jobId);
  }

  /** A job's series on this worker; safe to call from the training thread. */
  public static final class Job {
    private final String id;
    private final DistributionDataPoint stepCompute;
    private final GaugeDataPoint tokensPerSecond;
    private final CounterDataPoint tokens;

    private Job(
        String id,
        DistributionDataPoint stepCompute,
        GaugeDataPoint tokensPerSecond,
        CounterDataPoint tokens) {
      this.id = id;
      this.stepCompute = stepCompute;
      this.tokensPerSecond = tokensPerSecond;
      this.tokens = tokens;
    }

    /** The job id this handle labels its series with. */
    public String id() {
      return id;
    }

    /** Records one computed share: its wall time on this worker and the tokens it held. */
    public void onShareComputed(Duration took, long shareTokens) {
      double s = seconds(took);
      stepCompute.observe(s);
      tokens.inc(shareTokens);
      if (s > 0) {
        tokensPerSecond.set(shareTokens / s);
      }
    }
  }

  /**
   * Client_java 1.x names a counter without {@code _total} and appends it when exposing; the
   * constants hold the exposed name (the one dashboards and alerts use), so strip it here.
   */
  static String counterBaseName(String exposed) {
    if (!exposed.endsWith("_total")) {
      throw new IllegalArgumentException("counter name must end in _total: " + exposed);
    }
    return exposed.substring(0, exposed.length() - "_total".length());
  }

  static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }

  static double[] exponential(double start, double factor, int count) {
    double[] bounds = new double[count];
    double b = start;
    for (int i = 0; i < count; i++) {
      bounds[i] = b;
      b *= factor;
    }
    return bounds;
  }
}
