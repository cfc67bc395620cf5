package dev.lorafleet.coordinator.metrics;

import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.worker.metrics.DataPlaneDrops;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.StatefulMetric;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The coordinator's Prometheus metrics: per job (label {@code job} = the job id) what a person
 * watching a multi-day run needs — loss, throughput, step time by phase, cost so far and projected,
 * ETA, checkpoint freshness, skipped steps — and for the fleet the workers, devices, jobs by state
 * and the data plane's counters.
 *
 * <p>Plain Java, no actor types: the job runner calls a {@link Job} handle whose label values were
 * resolved once; the data plane's hot counters are read at scrape time through {@link
 * LongSupplier}s. Every method is safe to call from any thread.
 */
public final class CoordinatorMetrics {

  // per job
  public static final String TRAIN_LOSS = "lorafleet_train_loss";
  public static final String EVAL_LOSS = "lorafleet_eval_loss";
  public static final String LEARNING_RATE = "lorafleet_learning_rate";
  public static final String GRAD_NORM = "lorafleet_grad_norm";
  public static final String STEP = "lorafleet_step";
  public static final String TOTAL_STEPS = "lorafleet_total_steps";
  public static final String EPOCH = "lorafleet_epoch";
  public static final String STEP_SECONDS = "lorafleet_step_seconds";
  public static final String TOKENS_TOTAL = "lorafleet_tokens_total";
  public static final String SAMPLES_TOTAL = "lorafleet_samples_total";
  public static final String TOKENS_PER_SECOND = "lorafleet_tokens_per_second";
  public static final String ETA_SECONDS = "lorafleet_eta_seconds";
  public static final String LAST_PROGRESS_TIMESTAMP_SECONDS =
      "lorafleet_last_progress_timestamp_seconds";
  public static final String COST_TOTAL = "lorafleet_cost_total";
  public static final String COST_PER_EPOCH = "lorafleet_cost_per_epoch";
  public static final String PROJECTED_COST = "lorafleet_projected_cost";
  public static final String CHECKPOINT_SECONDS = "lorafleet_checkpoint_seconds";
  public static final String CHECKPOINT_LAST_SUCCESS_TIMESTAMP_SECONDS =
      "lorafleet_checkpoint_last_success_timestamp_seconds";
  public static final String CHECKPOINT_LAST_SUCCESS_STEP =
      "lorafleet_checkpoint_last_success_step";
  public static final String CHECKPOINT_EVERY_STEPS = "lorafleet_checkpoint_every_steps";
  public static final String SKIPPED_STEPS_TOTAL = "lorafleet_skipped_steps_total";
  public static final String JOB_STATE = "lorafleet_job_state";
  // fleet
  public static final String JOBS = "lorafleet_jobs";
  public static final String WORKERS = "lorafleet_workers";
  public static final String WORKERS_LOST_TOTAL = "lorafleet_workers_lost_total";
  public static final String WORKER_ERRORS_TOTAL = "lorafleet_worker_errors_total";
  public static final String WORKER_QUARANTINES_TOTAL = "lorafleet_worker_quarantines_total";
  public static final String DEVICES = "lorafleet_devices";
  public static final String GRADIENT_BYTES_TOTAL = "lorafleet_gradient_bytes_total";
  public static final String TRANSPORT_DROPPED_FRAMES_TOTAL =
      "lorafleet_transport_dropped_frames_total";

  /** The job states of the user contract (the API's {@code state} field), in lifecycle order. */
  public static final List<String> JOB_STATES =
      List.of(
          "QUEUED", "WAITING_FOR_WORKERS", "RUNNING", "PAUSED", "SUCCEEDED", "FAILED", "CANCELLED");

  /** Step phases from 1 ms to about 2.3 h. */
  private static final double[] STEP_BUCKETS = exponential(0.001, 2, 24);

  /** Checkpoint writes from 10 ms to about 1.5 h. */
  private static final double[] CHECKPOINT_BUCKETS = exponential(0.01, 2, 20);

  private final Clock clock;
  private final PrometheusRegistry registry;

  private final Gauge trainLoss;
  private final Gauge evalLoss;
  private final Gauge learningRate;
  private final Gauge gradNorm;
  private final Gauge step;
  private final Gauge totalSteps;
  private final Gauge epoch;
  private final Histogram stepSeconds;
  private final Counter tokens;
  private final Counter samples;
  private final Gauge tokensPerSecond;
  private final Gauge eta;
  private final Gauge lastProgress;
  private final Counter cost;
  private final Gauge costPerEpoch;
  private final Gauge projectedCost;
  private final Histogram checkpointSeconds;
  private final Gauge checkpointLastSuccess;
  private final Gauge checkpointLastStep;
  private final Gauge checkpointEvery;
  private final Counter skippedSteps;
  private final List<StatefulMetric<?, ?>> perJob;

  private final Counter workersLost;
  private final Counter workerErrors;
  private final Counter workerQuarantines;
  private volatile int quarantinedWorkers;
  private final Gauge devices;
  private volatile int liveWorkers;

  private final Map<String, Job> jobs = new ConcurrentHashMap<>();
  private final Map<String, LongSupplier> droppedFrames = new ConcurrentHashMap<>();
  private final Map<String, LongSupplier> gradientBytes = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> pushedGradientBytes = new ConcurrentHashMap<>();

  /** Registers the coordinator's metrics in {@code registry}; {@code clock} stamps timestamps. */
  public CoordinatorMetrics(PrometheusRegistry registry, Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.registry = Objects.requireNonNull(registry, "registry");
    trainLoss = gauge(registry, TRAIN_LOSS, "Training loss of the last step (mean per token)");
    evalLoss = gauge(registry, EVAL_LOSS, "Loss on an eval set at the last evaluation", "eval_set");
    learningRate = gauge(registry, LEARNING_RATE, "Learning rate of the last step");
    gradNorm = gauge(registry, GRAD_NORM, "Global gradient norm of the last step, before clipping");
    step = gauge(registry, STEP, "Global steps completed");
    totalSteps = gauge(registry, TOTAL_STEPS, "Global steps the whole job will take");
    epoch = gauge(registry, EPOCH, "Epoch the job is in");
    stepSeconds =
        Histogram.builder()
            .name(STEP_SECONDS)
            .help("Seconds of a global step by phase: compute, reduce, optimizer, broadcast")
            .unit(Unit.SECONDS)
            .labelNames("job", "phase")
            .classicOnly()
            .classicUpperBounds(STEP_BUCKETS)
            .register(registry);
    tokens = counter(registry, TOKENS_TOTAL, "Response tokens trained on");
    samples = counter(registry, SAMPLES_TOTAL, "Training examples trained on");
    tokensPerSecond = gauge(registry, TOKENS_PER_SECOND, "Recent training throughput");
    eta = gauge(registry, ETA_SECONDS, "Estimated seconds until the job ends");
    lastProgress =
        gauge(
            registry,
            LAST_PROGRESS_TIMESTAMP_SECONDS,
            "Unix time of the last completed step, or of the job (re)entering RUNNING");
    cost = counter(registry, COST_TOTAL, "Money the job's nodes have cost so far", "currency");
    costPerEpoch =
        gauge(registry, COST_PER_EPOCH, "Money one finished epoch cost", "currency", "epoch");
    projectedCost =
        gauge(
            registry,
            PROJECTED_COST,
            "Money the whole job will cost at the current pace",
            "currency");
    checkpointSeconds =
        Histogram.builder()
            .name(CHECKPOINT_SECONDS)
            .help("Seconds a checkpoint took to write, fsync and rename")
            .unit(Unit.SECONDS)
            .labelNames("job")
            .classicOnly()
            .classicUpperBounds(CHECKPOINT_BUCKETS)
            .register(registry);
    checkpointLastSuccess =
        gauge(
            registry,
            CHECKPOINT_LAST_SUCCESS_TIMESTAMP_SECONDS,
            "Unix time of the last checkpoint written successfully");
    checkpointLastStep =
        gauge(
            registry,
            CHECKPOINT_LAST_SUCCESS_STEP,
            "Global step of the last checkpoint written successfully (or resumed from)");
    checkpointEvery =
        gauge(registry, CHECKPOINT_EVERY_STEPS, "Steps between checkpoints in the job's spec");
    skippedSteps =
        counter(
            registry, SKIPPED_STEPS_TOTAL, "Steps skipped instead of applied, by reason", "reason");
    perJob =
        List.of(
            trainLoss,
            evalLoss,
            learningRate,
            gradNorm,
            step,
            totalSteps,
            epoch,
            stepSeconds,
            tokens,
            samples,
            tokensPerSecond,
            eta,
            lastProgress,
            cost,
            costPerEpoch,
            projectedCost,
            checkpointSeconds,
            checkpointLastSuccess,
            checkpointLastStep,
            checkpointEvery,
            skippedSteps);

    GaugeWithCallback.builder()
        .name(JOB_STATE)
        .help("1 for the state a job is in, 0 for the others")
        .labelNames("job", "state")
        .callback(
            cb ->
                jobs.values()
                    .forEach(
                        job -> {
                          String current = job.state;
                          for (String s : JOB_STATES) {
                            cb.call(s.equals(current) ? 1 : 0, job.id, s);
                          }
                        }))
        .register(registry);
    GaugeWithCallback.builder()
        .name(JOBS)
        .help("Jobs this coordinator knows, by state")
        .labelNames("state")
        .callback(
            cb -> {
              for (String s : JOB_STATES) {
                cb.call(jobs.values().stream().filter(j -> s.equals(j.state)).count(), s);
              }
            })
        .register(registry);

    GaugeWithCallback.builder()
        .name(WORKERS)
        .help(
            "Worker nodes by state: busy (held by an unfinished job), idle, or quarantined (put"
                + " aside after repeated errors)")
        .labelNames("state")
        .callback(
            cb -> {
              Set<String> busy = new HashSet<>();
              jobs.values().forEach(j -> busy.addAll(j.held));
              cb.call(busy.size(), "busy");
              cb.call(Math.max(0, liveWorkers - busy.size()), "idle");
              cb.call(quarantinedWorkers, "quarantined");
            })
        .register(registry);
    workersLost =
        Counter.builder()
            .name(counterBaseName(WORKERS_LOST_TOTAL))
            .help("Worker nodes that left or became unreachable while training a job")
            .register(registry);
    workerErrors =
        Counter.builder()
            .name(counterBaseName(WORKER_ERRORS_TOTAL))
            .help(
                "Real errors reported by workers (a step or a job preparation that failed on the"
                    + " node), each counted against its job's error budget")
            .register(registry);
    workerQuarantines =
        Counter.builder()
            .name(counterBaseName(WORKER_QUARANTINES_TOTAL))
            .help("Times a worker that kept failing was put aside (quarantined)")
            .register(registry);
    devices =
        Gauge.builder()
            .name(DEVICES)
            .help("Devices (GPUs, or 1 per CPU-only node) on the live workers")
            .register(registry);
    CounterWithCallback.builder()
        .name(counterBaseName(GRADIENT_BYTES_TOTAL))
        .help("Bytes of adapter gradients received from workers, by wire dtype")
        .unit(Unit.BYTES)
        .labelNames("dtype")
        .callback(cb -> readAll(gradientBytes, cb::call))
        .register(registry);
    CounterWithCallback.builder()
        .name(counterBaseName(TRANSPORT_DROPPED_FRAMES_TOTAL))
        .help("Data-plane frames dropped, by reason")
        .labelNames("reason")
        .callback(cb -> readAll(droppedFrames, cb::call))
        .register(registry);
  }

  /** Registers in a fresh registry with the system clock. */
  public static CoordinatorMetrics create() {
    return new CoordinatorMetrics(new PrometheusRegistry(), Clock.systemUTC());
  }

  /** The registry these metrics live in (serve it with {@code MetricsServer}). */
  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * The series of one job, created on first use with the facts that do not change during a run.
   * Calling it again for the same id returns the same handle.
   *
   * @param currency the spec's {@code cluster.currency}, the {@code currency} label of cost series
   * @param checkpointEverySteps the spec's {@code checkpoint.everySteps}
   */
  public Job job(String jobId, String currency, long checkpointEverySteps) {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(currency, "currency");
    return jobs.computeIfAbsent(jobId, id -> new Job(id, currency, checkpointEverySteps));
  }

  /** Removes every series of a job (e.g. when it is deleted); finished jobs may stay. */
  public void forgetJob(String jobId) {
    jobs.remove(jobId);
    for (StatefulMetric<?, ?> metric : perJob) {
      metric.removeIf(labels -> labels.get(0).equals(jobId));
    }
  }

  /**
   * Records the live worker set after it changed: how many workers and their devices. Which of them
   * are busy comes from the jobs ({@link Job#onWorkersHeld}).
   */
  public void onWorkersChanged(int workerCount, int deviceCount) {
    liveWorkers = workerCount;
    devices.set(deviceCount);
  }

  /** Counts a real error a worker reported for a job (it uses up one of the job's budget). */
  public void onWorkerError() {
    workerErrors.inc();
  }

  /** Counts a worker put aside after repeated errors; {@code nowQuarantined} are aside now. */
  public void onWorkerQuarantined(int nowQuarantined) {
    workerQuarantines.inc();
    quarantinedWorkers = nowQuarantined;
  }

  /** How many workers are put aside now (after one returned). */
  public void onQuarantineChanged(int nowQuarantined) {
    quarantinedWorkers = nowQuarantined;
  }

  /** Counts a worker that left or became unreachable while it was training a job. */
  public void onWorkerLost() {
    workersLost.inc();
  }

  /**
   * Exposes a data-plane drop counter, read at every scrape (e.g. {@code
   * registerDroppedFrames("back_pressure", counters::backPressureDrops)}). A reason registered
   * again replaces the earlier supplier.
   */
  public void registerDroppedFrames(String reason, LongSupplier count) {
    droppedFrames.put(Objects.requireNonNull(reason, "reason"), count);
  }

  /**
   * Exposes the coordinator data plane's counters, read at every scrape: each drop reason as a
   * {@code reason} of dropped frames, and the accepted payload bytes (all gradients, on the
   * coordinator) as gradient bytes of {@code gradientDtype}.
   */
  public void registerDataPlane(Supplier<DataPlaneCounters> counters, WireDtype gradientDtype) {
    DataPlaneDrops.register(counters, this::registerDroppedFrames);
    registerGradientBytes(
        gradientDtype.name().toLowerCase(Locale.ROOT), () -> counters.get().bytesAccepted());
  }

  /** Exposes a received-gradient byte counter for one wire dtype, read at every scrape. */
  public void registerGradientBytes(String dtype, LongSupplier bytes) {
    gradientBytes.put(Objects.requireNonNull(dtype, "dtype"), bytes);
  }

  /**
   * Adds received gradient bytes for callers that count per message rather than keep a counter of
   * their own; do not mix with {@link #registerGradientBytes} for the same dtype.
   */
  public void addGradientBytes(String dtype, long bytes) {
    pushedGradientBytes
        .computeIfAbsent(
            dtype,
            d -> {
              LongAdder adder = new LongAdder();
              gradientBytes.put(d, adder::sum);
              return adder;
            })
        .add(bytes);
  }

  private interface LabelledValue {
    void call(double value, String... labelValues);
  }

  private static void readAll(Map<String, LongSupplier> suppliers, LabelledValue out) {
    suppliers.forEach(
        (label, supplier) -> {
          try {
            out.call(supplier.getAsLong(), label);
          } catch (RuntimeException e) {
            // one broken counter must not fail the whole scrape; its series is left out this time
          }
        });
  }

  private double now() {
    return clock.millis() / 1000.0;
  }

  /**
   * One job's series, label values resolved once. The job runner calls it at each event of the run;
   * nothing here blocks.
   */
  public final class Job {
    private final String id;
    private final String currency;
    private volatile String state = "QUEUED";
    private volatile Set<String> held = Set.of();
    // gauges whose 0 would be a lie (loss 0, ETA 0, a checkpoint in 1970) appear on first value
    private final Lazy<GaugeDataPoint> trainLoss;
    private final Lazy<GaugeDataPoint> learningRate;
    private final Lazy<GaugeDataPoint> gradNorm;
    private final GaugeDataPoint step;
    private final Lazy<GaugeDataPoint> epoch;
    private final DistributionDataPoint compute;
    private final DistributionDataPoint reduce;
    private final DistributionDataPoint optimizer;
    private final DistributionDataPoint broadcast;
    private final CounterDataPoint tokens;
    private final CounterDataPoint samples;
    private final Lazy<GaugeDataPoint> tokensPerSecond;
    private final Lazy<GaugeDataPoint> eta;
    private final Lazy<GaugeDataPoint> lastProgress;
    private final CounterDataPoint cost;
    private final Lazy<GaugeDataPoint> projectedCost;
    private final DistributionDataPoint checkpointSeconds;
    private final Lazy<GaugeDataPoint> checkpointLastSuccess;
    private final GaugeDataPoint checkpointLastStep;
    private final Map<SkipReason, CounterDataPoint> skipped = new EnumMap<>(SkipReason.class);
    private double costCounted;

    private Job(String id, String currency, long checkpointEverySteps) {
      CoordinatorMetrics m = CoordinatorMetrics.this;
      this.id = id;
      this.currency = currency;
      trainLoss = new Lazy<>(() -> m.trainLoss.labelValues(id));
      learningRate = new Lazy<>(() -> m.learningRate.labelValues(id));
      gradNorm = new Lazy<>(() -> m.gradNorm.labelValues(id));
      step = m.step.labelValues(id);
      epoch = new Lazy<>(() -> m.epoch.labelValues(id));
      compute = m.stepSeconds.labelValues(id, "compute");
      reduce = m.stepSeconds.labelValues(id, "reduce");
      optimizer = m.stepSeconds.labelValues(id, "optimizer");
      broadcast = m.stepSeconds.labelValues(id, "broadcast");
      tokens = m.tokens.labelValues(id);
      samples = m.samples.labelValues(id);
      tokensPerSecond = new Lazy<>(() -> m.tokensPerSecond.labelValues(id));
      eta = new Lazy<>(() -> m.eta.labelValues(id));
      lastProgress = new Lazy<>(() -> m.lastProgress.labelValues(id));
      cost = m.cost.labelValues(id, currency);
      projectedCost = new Lazy<>(() -> m.projectedCost.labelValues(id, currency));
      checkpointSeconds = m.checkpointSeconds.labelValues(id);
      checkpointLastSuccess = new Lazy<>(() -> m.checkpointLastSuccess.labelValues(id));
      checkpointLastStep = m.checkpointLastStep.labelValues(id);
      for (SkipReason r : SkipReason.values()) {
        skipped.put(r, m.skippedSteps.labelValues(id, r.label()));
      }
      m.checkpointEvery.labelValues(id).set(checkpointEverySteps);
      // a fresh job has "checkpointed" at step 0: no checkpoint yet is not yet a stale one
      checkpointLastStep.set(0);
      step.set(0);
    }

    /** Records the job's plan once its workers have counted the data: its total global steps. */
    public void onPlanned(long totalSteps) {
      CoordinatorMetrics.this.totalSteps.labelValues(id).set(totalSteps);
    }

    /** Records the workers the job holds now (empty once it ends); they count as busy. */
    public void onWorkersHeld(Collection<String> workerIds) {
      held = Set.copyOf(workerIds);
    }

    /** The job id this handle labels its series with. */
    public String id() {
      return id;
    }

    /**
     * Records a state change; {@code state} is one of {@link #JOB_STATES}.
     *
     * <p>The stall clock ({@code lorafleet_last_progress_timestamp_seconds}) starts when the job
     * starts wanting to train: entering RUNNING, or WAITING_FOR_WORKERS from anything but RUNNING.
     * So a resumed or unpaused job is not reported stalled for the time it was meant to wait, while
     * a running job that loses its workers keeps its clock and is reported once it has made no step
     * for too long.
     */
    public void onStateChanged(String newState) {
      if (!JOB_STATES.contains(newState)) {
        throw new IllegalArgumentException(
            "job " + id + ": unknown state '" + newState + "'; expected one of " + JOB_STATES);
      }
      String previous = state;
      state = newState;
      boolean startsWanting =
          newState.equals("RUNNING")
              || (newState.equals("WAITING_FOR_WORKERS") && !previous.equals("RUNNING"));
      if (startsWanting) {
        lastProgress.get().set(now());
      }
    }

    /**
     * Records a job resumed from a checkpoint at {@code fromStep}: the step and the last checkpoint
     * step start there, and {@code costSoFar} (restored from the checkpoint) becomes the counter's
     * value.
     */
    public void onResumed(long fromStep, int fromEpoch, double costSoFar) {
      step.set(fromStep);
      epoch.get().set(fromEpoch);
      checkpointLastStep.set(fromStep);
      setCostSoFar(costSoFar);
    }

    /** Records a completed (applied) global step. */
    public void onStepCompleted(StepMetrics s) {
      step.set(s.step());
      epoch.get().set(s.epoch());
      trainLoss.get().set(s.trainLoss());
      learningRate.get().set(s.learningRate());
      gradNorm.get().set(s.gradNorm());
      tokens.inc(s.tokens());
      samples.inc(s.samples());
      tokensPerSecond.get().set(s.tokensPerSecond());
      eta.get().set(s.etaSeconds());
      StepMetrics.PhaseSeconds p = s.phases();
      compute.observe(p.compute());
      reduce.observe(p.reduce());
      optimizer.observe(p.optimizer());
      lastProgress.get().set(now());
    }

    /**
     * Records how long handing a step's new parameters to the data plane took. Reported apart from
     * {@link #onStepCompleted} because it completes on the data plane's thread, while the next step
     * already runs.
     */
    public void onBroadcast(Duration took) {
      broadcast.observe(took.toNanos() / 1e9);
    }

    /** Records a step that was skipped (not applied) and why. */
    public void onSkippedStep(SkipReason reason) {
      skipped.get(reason).inc();
    }

    /** Records the loss on one eval set (the spec's {@code eval[].name}). */
    public void onEvaluated(String evalSet, double loss) {
      CoordinatorMetrics.this.evalLoss.labelValues(id, evalSet).set(loss);
    }

    /**
     * Records the cost so far and the projected cost of the whole job, in the job's currency. The
     * cost counter follows {@code costSoFar}; it never goes down.
     */
    public void onCost(double costSoFar, double projected) {
      setCostSoFar(costSoFar);
      projectedCost.get().set(projected);
    }

    /** Records what a finished epoch cost. */
    public void onEpochCompleted(int finishedEpoch, double epochCost) {
      CoordinatorMetrics.this
          .costPerEpoch
          .labelValues(id, currency, Integer.toString(finishedEpoch))
          .set(epochCost);
    }

    /** Records a checkpoint written successfully at {@code atStep}, and how long it took. */
    public void onCheckpointWritten(long atStep, Duration took) {
      checkpointSeconds.observe(took.toNanos() / 1e9);
      checkpointLastStep.set(atStep);
      checkpointLastSuccess.get().set(now());
    }

    private synchronized void setCostSoFar(double costSoFar) {
      if (costSoFar > costCounted) {
        cost.inc(costSoFar - costCounted);
        costCounted = costSoFar;
      }
    }
  }

  /** A data point resolved on first use, then reused: its series appears once it has a value. */
  private static final class Lazy<T> {
    private final Supplier<T> resolve;
    private volatile T value;

    Lazy(Supplier<T> resolve) {
      this.resolve = resolve;
    }

    T get() {
      T v = value;
      if (v == null) {
        synchronized (this) {
          v = value;
          if (v == null) {
            v = resolve.get();
            value = v;
          }
        }
      }
      return v;
    }
  }

  private static Gauge gauge(
      PrometheusRegistry registry, String name, String help, String... extraLabels) {
    return Gauge.builder()
        .name(name)
        .help(help)
        .labelNames(withJob(extraLabels))
        .register(registry);
  }

  private static Counter counter(
      PrometheusRegistry registry, String exposedName, String help, String... extraLabels) {
    return Counter.builder()
        .name(counterBaseName(exposedName))
        .help(help)
        .labelNames(withJob(extraLabels))
        .register(registry);
  }

  private static String[] withJob(String... extra) {
    String[] names = new String[extra.length + 1];
    names[0] = "job";
    System.arraycopy(extra, 0, names, 1, extra.length);
    return names;
  }

  /**
   * Client_java 1.x names a counter without {@code _total} and appends it when exposing; the
   * constants hold the exposed name (the one dashboards and alerts use), so strip it here.
   */
  private static String counterBaseName(String exposed) {
    if (!exposed.endsWith("_total")) {
      throw new IllegalArgumentException("counter name must end in _total: " + exposed);
    }
    return exposed.substring(0, exposed.length() - "_total".length());
  }

  private static double[] exponential(double start, double factor, int count) {
    double[] bounds = new double[count];
    double b = start;
    for (int i = 0; i < count; i++) {
      bounds[i] = b;
      b *= factor;
    }
    return bounds;
  }
}
