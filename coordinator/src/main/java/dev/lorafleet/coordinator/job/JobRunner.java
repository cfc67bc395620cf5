package dev.lorafleet.coordinator.job;

import dev.lorafleet.common.protocol.DatasetRef;
import dev.lorafleet.common.protocol.EvalAssignment;
import dev.lorafleet.common.protocol.EvalResult;
import dev.lorafleet.common.protocol.InitialAdapterRequest;
import dev.lorafleet.common.protocol.JobAssignment;
import dev.lorafleet.common.protocol.JobPrepareFailed;
import dev.lorafleet.common.protocol.JobPrepared;
import dev.lorafleet.common.protocol.StepAssignment;
import dev.lorafleet.common.protocol.StepFailed;
import dev.lorafleet.common.protocol.StopJob;
import dev.lorafleet.common.protocol.WorkerLeaving;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.checkpoint.CheckpointFormat;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.checkpoint.TrainerState;
import dev.lorafleet.coordinator.cluster.DatasetStore;
import dev.lorafleet.coordinator.cluster.WorkerHandle;
import dev.lorafleet.coordinator.cluster.WorkerRegistry;
import dev.lorafleet.coordinator.job.optim.AdamW;
import dev.lorafleet.coordinator.job.optim.GradientStep;
import dev.lorafleet.coordinator.job.optim.LrSchedule;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.coordinator.metrics.SkipReason;
import dev.lorafleet.coordinator.metrics.StepMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One job from start to end: waits for its workers, prepares them, then runs the synchronous
 * data-parallel loop (plan the step, gather the gradient sums over the data plane, step AdamW,
 * broadcast the adapter), evaluates at every epoch end, checkpoints and reports. Optimizer steps
 * and file I/O run on the job's own I/O thread, in order, and come back as messages.
 */
public final class JobRunner extends AbstractBehavior<JobRunner.Command> {

  /** What the job runner accepts. */
  public sealed interface Command
      permits Start,
          Cancel,
          GetStatus,
          JobRunner.WorkersChanged,
          JobRunner.FromWorker,
          JobRunner.DatasetsOffered,
          JobRunner.InitGathered,
          JobRunner.ResumeLoaded,
          JobRunner.StepGathered,
          JobRunner.StepApplied,
          JobRunner.Persisted,
          JobRunner.EvalTimedOut,
          JobRunner.PauseDue,
          JobRunner.AsideCheckpointed,
          JobRunner.Finalized,
          JobRunner.ErrorJudged {}

  /** The job manager's go: this job may take the workers now. */
  public enum Start implements Command {
    INSTANCE
  }

  /** Cancel the job; a final checkpoint is written if training started. */
  public record Cancel(ActorRef<JobStatus> replyTo) implements Command {}

  public record GetStatus(ActorRef<JobStatus> replyTo) implements Command {}

  /** Told to the manager when the job reaches a terminal state. */
  public record Finished(String jobId, JobStatus status) {}

  private record WorkersChanged(WorkerRegistry.Workers workers) implements Command {}

  private record FromWorker(WorkerRegistry.FromWorker message) implements Command {}

  private record DatasetsOffered(List<DatasetRef> train, List<DatasetRef> eval, Throwable error)
      implements Command {}

  private record InitGathered(GradientExchange.Gathered result, Throwable error)
      implements Command {}

  /** What the job's directory holds to resume from (no checkpoint: start from scratch). */
  private record ResumeLoaded(ResumePoint point, Throwable error) implements Command {}

  /**
   * The newest valid checkpoint read back, the newer ones skipped (with why), the epochs already
   * reported, and how many times the job resumed before (its incarnation).
   */
  private record ResumePoint(
      TrainerState state,
      float[][] vectors,
      Path checkpoint,
      List<String> skipped,
      List<EpochReport> epochs,
      int incarnation) {}

  /**
   * Rounds of a resumed incarnation start at {@code incarnation << 16}, so gradient frames and step
   * assignments of an older coordinator incarnation never match a gather of this one.
   */
  private static final int ROUNDS_PER_INCARNATION = 1 << 16;

  private record StepGathered(
      long step, int round, long tokensExpected, GradientExchange.Gathered result, Throwable error)
      implements Command {}

  private record StepApplied(
      long step, GradientStep.Outcome outcome, long tokens, double lossSum, Throwable error)
      implements Command {}

  /** A checkpoint (or events/report) write finished; {@code then} says what comes next. */
  private record Persisted(Runnable then, Throwable error) implements Command {}

  private enum EvalTimedOut implements Command {
    INSTANCE
  }

  /** The job had no worker for {@link Timing#pauseAfter()}. */
  private enum PauseDue implements Command {
    INSTANCE
  }

  /** A checkpoint written beside the training loop (its last worker is going) is on disk. */
  private record AsideCheckpointed(long step, Throwable error) implements Command {}

  private record Finalized(JobState state, String error, Throwable writeError) implements Command {}

  /**
   * The registry's verdict on a worker's real error: during preparation (step -1) or in a round of
   * a step. It comes through a message adapter, in order with the registry's worker sets.
   */
  private record ErrorJudged(WorkerRegistry.ErrorVerdict verdict) implements Command {}

  /** How long things may take before the runner stops waiting. */
  public record Timing(
      Duration stepDeadline, Duration prepareDeadline, Duration evalDeadline, Duration pauseAfter) {
    /**
     * How long a running job may have no worker before it goes PAUSED: long enough for a rented
     * node that was taken away to be replaced (the job waits RUNNING meanwhile, holding nothing).
     */
    public static final Duration DEFAULT_PAUSE_AFTER = Duration.ofMinutes(10);

    public Timing(Duration stepDeadline, Duration prepareDeadline, Duration evalDeadline) {
      this(stepDeadline, prepareDeadline, evalDeadline, DEFAULT_PAUSE_AFTER);
    }

    public static Timing defaults() {
      return new Timing(Duration.ofMinutes(10), Duration.ofMinutes(30), Duration.ofMinutes(30));
    }

    /** The same with another delay before a job without workers pauses. */
    public Timing withPauseAfter(Duration pauseAfter) {
      return new Timing(stepDeadline, prepareDeadline, evalDeadline, pauseAfter);
    }
  }

  private final String jobId;
  private final JobSettings settings;
  private final JobFiles files;
  private final ActorRef<Finished> manager;
  private final ActorRef<dev.lorafleet.worker.cluster.CoordinatorInbound> registry;
  private final DatasetStore datasetStore;
  private final GradientExchange exchange;
  private final CheckpointFormatFactory formatFactory;
  private final Timing timing;
  private final Clock clock;
  private final TimerScheduler<Command> timers;
  private final ExecutorService io;
  private final CostMeter cost;
  private final CoordinatorMetrics metrics;
  private final FailurePolicy failures;
  private final ActorRef<WorkerRegistry.ErrorVerdict> verdicts;
  private int jobErrors;
  private String firstError;
  private CoordinatorMetrics.Job jobMetrics;
  private long stepStartNanos;
  private long gatheredNanos;
  private volatile long optimizerStartNanos; // set on the io thread as the optimizer starts

  private JobState state = JobState.QUEUED;
  private String error;
  private List<DatasetRef> trainRefs;
  private List<DatasetRef> evalRefs;
  private WorkerRegistry.Workers latestWorkers = new WorkerRegistry.Workers(List.of(), 0);

  /** Workers held for this job, by id (kept in id order). */
  private final Map<String, WorkerHandle> held = new LinkedHashMap<>();

  /**
   * Free workers taken while the job runs short of {@code cluster.workers}, still preparing; they
   * join {@link #held} (and get a share from the next step on) once prepared.
   */
  private final Map<String, WorkerHandle> joining = new LinkedHashMap<>();

  private final Map<String, JobPrepared> prepared = new HashMap<>();

  /** What the job's first workers prepared: a late joiner must agree with it. */
  private JobPrepared reference;

  private ShardPlanner planner;
  private GradientStep optimizer;
  private Checkpointer checkpointer;
  private int adapterLength;
  private long totalSteps;
  private long globalStep;
  private int round;
  private int roundBase;
  private long roundEpoch;
  private int cachedEpoch = -1;
  private int[] cachedOrder;
  private boolean busy;

  /**
   * A step's gather is in flight: its workers are computing and no answer was accepted yet. Only
   * then may a lost worker's share be planned again at once; once the gather is accepted the step
   * is complete (the optimizer applies it) and nothing is replanned.
   */
  private boolean gathering;

  /** Workers that said they are going (SIGTERM, a spot notice): no share after their current. */
  private final Set<String> leaving = new LinkedHashSet<>();

  /**
   * No worker to plan the next step over: the job waits (RUNNING, then PAUSED after {@link
   * Timing#pauseAfter()}) and goes on from the same step when one joins.
   */
  private boolean stalled;

  private long lastCheckpointStep = -1;

  private boolean cancelRequested;
  private final List<ActorRef<JobStatus>> cancelWaiters = new ArrayList<>();
  private final List<TrainerState.LossPoint> lossHistory = new ArrayList<>();
  private long skippedSteps;
  private int consecutiveSkips;

  /** Steps skipped in a row (NaN/Inf gradients) after which the job fails rather than drifts. */
  static final int MAX_CONSECUTIVE_SKIPS = 3;

  // the current epoch's accounting
  private Instant epochStart;
  private double gpuHoursAtEpochStart;
  private long epochSamples;
  private long epochTokens;
  private double epochLossSum;
  private long epochSkipped;
  private int epochMaxWorkers;
  private double lastLoss = Double.NaN;
  private final List<EpochReport> epochs = new ArrayList<>();
  private Instant runningSince;
  private long stepsAtRunningSince;

  // the current eval
  private final Map<Integer, double[]> evalSums = new HashMap<>();
  private final Set<String> evalPending = new LinkedHashSet<>();

  /** A runner that retries workers' real errors within {@code failures}' job error budget. */
  public static Behavior<Command> create(
      String jobId,
      JobSettings settings,
      JobFiles files,
      ActorRef<Finished> manager,
      ActorRef<dev.lorafleet.worker.cluster.CoordinatorInbound> registry,
      DatasetStore datasetStore,
      GradientExchange exchange,
      CheckpointFormatFactory formatFactory,
      Timing timing,
      Clock clock,
      CoordinatorMetrics metrics,
      FailurePolicy failures) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers ->
                    new JobRunner(
                        context,
                        timers,
                        jobId,
                        settings,
                        files,
                        manager,
                        registry,
                        datasetStore,
                        exchange,
                        formatFactory,
                        timing,
                        clock,
                        metrics,
                        failures)));
  }

  private JobRunner(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      String jobId,
      JobSettings settings,
      JobFiles files,
      ActorRef<Finished> manager,
      ActorRef<dev.lorafleet.worker.cluster.CoordinatorInbound> registry,
      DatasetStore datasetStore,
      GradientExchange exchange,
      CheckpointFormatFactory formatFactory,
      Timing timing,
      Clock clock,
      CoordinatorMetrics metrics,
      FailurePolicy failures) {
    super(context);
    this.metrics = metrics;
    this.failures = failures;
    this.verdicts = context.messageAdapter(WorkerRegistry.ErrorVerdict.class, ErrorJudged::new);
    // from QUEUED on, so that jobs by state and the stall clock of a waiting job are right
    this.jobMetrics = metrics.job(jobId, settings.currency(), settings.checkpointEverySteps());
    this.timers = timers;
    this.jobId = jobId;
    this.settings = settings;
    this.files = files;
    this.manager = manager;
    this.registry = registry;
    this.datasetStore = datasetStore;
    this.exchange = exchange;
    this.formatFactory = formatFactory;
    this.timing = timing;
    this.clock = clock;
    this.cost = new CostMeter(settings.pricePerGpuHour());
    this.io =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "lorafleet-job-io-" + jobId);
              t.setDaemon(true);
              return t;
            });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessageEquals(Start.INSTANCE, this::onStart)
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(WorkersChanged.class, this::onWorkersChanged)
        .onMessage(FromWorker.class, this::onFromWorker)
        .onMessage(DatasetsOffered.class, this::onDatasetsOffered)
        .onMessage(InitGathered.class, this::onInitGathered)
        .onMessage(ResumeLoaded.class, this::onResumeLoaded)
        .onMessage(StepGathered.class, this::onStepGathered)
        .onMessage(StepApplied.class, this::onStepApplied)
        .onMessage(Persisted.class, this::onPersisted)
        .onMessageEquals(EvalTimedOut.INSTANCE, this::onEvalTimedOut)
        .onMessageEquals(PauseDue.INSTANCE, this::onPauseDue)
        .onMessage(AsideCheckpointed.class, this::onAsideCheckpointed)
        .onMessage(Finalized.class, this::onFinalized)
        .onMessage(ErrorJudged.class, this::onErrorJudged)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- lifecycle: queued → waiting for workers → running ----

  private Behavior<Command> onStart() {
    if (state != JobState.QUEUED) {
      return this;
    }
    setState(JobState.WAITING_FOR_WORKERS);
    registry.tell(
        new WorkerRegistry.RouteJob(
            jobId, getContext().messageAdapter(WorkerRegistry.FromWorker.class, FromWorker::new)));
    registry.tell(
        new WorkerRegistry.Subscribe(
            getContext().messageAdapter(WorkerRegistry.Workers.class, WorkersChanged::new)));
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(this::offerDatasets, io),
            (refs, failure) ->
                failure != null
                    ? new DatasetsOffered(null, null, failure)
                    : new DatasetsOffered(refs.get(0), refs.get(1), null));
    return this;
  }

  private List<List<DatasetRef>> offerDatasets() {
    try {
      List<DatasetRef> train = new ArrayList<>();
      for (JobSettings.TrainSet set : settings.datasets()) {
        train.add(datasetStore.offer(set.path().getFileName().toString(), set.path()));
      }
      List<DatasetRef> eval = new ArrayList<>();
      for (JobSettings.EvalSet set : settings.evals()) {
        eval.add(datasetStore.offer(set.name(), set.path()));
      }
      return List.of(train, eval);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private Behavior<Command> onDatasetsOffered(DatasetsOffered offered) {
    if (offered.error() != null) {
      return fail("cannot read the job's datasets: " + rootMessage(offered.error()));
    }
    trainRefs = offered.train();
    evalRefs = offered.eval();
    maybeTakeWorkers();
    return this;
  }

  private Behavior<Command> onWorkersChanged(WorkersChanged changed) {
    latestWorkers = changed.workers();
    if (state == JobState.WAITING_FOR_WORKERS) {
      Set<String> present = new LinkedHashSet<>();
      latestWorkers.workers().forEach(w -> present.add(w.id()));
      if (!held.isEmpty() && !present.containsAll(held.keySet())) {
        // a worker died while the job was being prepared: let go of all and take them afresh
        Instant now = clock.instant();
        getContext()
            .getLog()
            .warn(
                "A worker of job {} left while the job was being prepared ({} held, {} present);"
                    + " the job takes its workers again.",
                jobId,
                held.keySet(),
                present);
        held.keySet().forEach(id -> cost.release(id, now));
        held.clear();
        prepared.clear();
      }
      maybeTakeWorkers();
      return this;
    }
    if (state != JobState.RUNNING && state != JobState.PAUSED) {
      return this;
    }
    Set<String> live = new LinkedHashSet<>();
    latestWorkers.workers().forEach(w -> live.add(w.id()));
    List<String> gone = new ArrayList<>();
    for (String id : held.keySet()) {
      if (!live.contains(id)) {
        gone.add(id);
      }
    }
    for (String id : gone) {
      held.remove(id);
      boolean announced = leaving.remove(id);
      cost.release(id, clock.instant());
      if (!announced) {
        metrics.onWorkerLost();
      }
      event("worker_left", Map.of("worker", id, "step", globalStep, "announced", announced));
      if (announced) {
        getContext()
            .getLog()
            .info("Worker {} left job {} as announced, during step {}.", id, jobId, globalStep);
      } else {
        getContext()
            .getLog()
            .warn(
                "Worker {} left job {} during step {}; its share goes to the other {} worker(s).",
                id,
                jobId,
                globalStep,
                held.size());
      }
    }
    for (String id : List.copyOf(joining.keySet())) {
      if (!live.contains(id)) {
        joining.remove(id);
        cost.release(id, clock.instant());
        getContext().getLog().info("Worker {} left before it was ready for job {}.", id, jobId);
      }
    }
    if (jobMetrics != null && !gone.isEmpty()) {
      jobMetrics.onWorkersHeld(held.keySet());
    }
    if (!gone.isEmpty() && evalPending.removeAll(gone)) {
      // an eval share was lost: its loss is left out (counted by tokens, so the mean stays fair)
      maybeFinishEval();
    } else if (!gone.isEmpty() && gathering && !busy) {
      replanStep(gone);
    }
    maybeTakeJoiners();
    return this;
  }

  /**
   * A running job short of {@code cluster.workers} (one died or left) takes free workers as they
   * join: they get the job, prepare, then the current adapter (the data plane sends its current
   * version to a late asker) and a share from the next step on. A job only starts with all its
   * workers, so a shortfall always comes from a worker lost on the way.
   */
  private void maybeTakeJoiners() {
    if ((state != JobState.RUNNING && state != JobState.PAUSED) || planner == null || finalizing) {
      return;
    }
    int wanted = Math.max(1, settings.workers()) - (held.size() - leaving.size()) - joining.size();
    if (wanted <= 0) {
      return;
    }
    Instant now = clock.instant();
    JobAssignment assignment = null;
    for (WorkerHandle w : latestWorkers.workers()) {
      if (wanted == 0) {
        break;
      }
      if (held.containsKey(w.id()) || joining.containsKey(w.id()) || leaving.contains(w.id())) {
        continue;
      }
      joining.put(w.id(), w);
      cost.hold(w.id(), w.info().deviceCount(), now);
      wanted--;
      getContext()
          .getLog()
          .info(
              "Worker {} joined while job {} runs short of workers ({} of {}); it prepares and"
                  + " takes a share from the next step on.",
              w.id(),
              jobId,
              held.size(),
              settings.workers());
      event("worker_joining", Map.of("worker", w.id(), "step", globalStep));
      if (assignment == null) {
        assignment =
            new JobAssignment(jobId, specYaml(), settings.model().toString(), trainRefs, evalRefs);
      }
      w.tell(assignment);
    }
  }

  /** A late joiner is ready: from the next planned step on it trains a share. */
  private void onJoinerPrepared(JobPrepared ready) {
    WorkerHandle w = joining.remove(ready.workerId());
    if (!Arrays.equals(ready.trainExampleCounts(), reference.trainExampleCounts())
        || !Arrays.equals(ready.evalExampleCounts(), reference.evalExampleCounts())
        || ready.adapterLength() != reference.adapterLength()) {
      String why =
          "it has "
              + Arrays.toString(ready.trainExampleCounts())
              + " examples and "
              + ready.adapterLength()
              + " adapter values, the job "
              + Arrays.toString(reference.trainExampleCounts())
              + " and "
              + reference.adapterLength();
      dropJoiner(w, why);
      return;
    }
    held.put(w.id(), w);
    roundEpoch = latestWorkers.epoch();
    if (jobMetrics != null) {
      jobMetrics.onWorkersHeld(held.keySet());
    }
    event("worker_joined", Map.of("worker", w.id(), "step", globalStep));
    getContext()
        .getLog()
        .info(
            "Worker {} is ready for job {}; it trains a share from step {} on ({} worker(s)).",
            w.id(),
            jobId,
            gathering || busy ? globalStep + 1 : globalStep,
            held.size());
    if (stalled) {
      resumeFromStall();
    }
  }

  // ---- workers going, and a job left without any ----

  /** A worker was told to go: it finishes the shares it has; later steps are planned without it. */
  private void onWorkerLeaving(WorkerLeaving notice) {
    if (!leaving.add(notice.workerId())) {
      return;
    }
    int staying = held.size() - leaving.size();
    getContext()
        .getLog()
        .info(
            "Worker {} is leaving job {} (within {} s); it finishes its share of step {}, later"
                + " steps go to the other {} worker(s).",
            notice.workerId(),
            jobId,
            notice.graceMillis() / 1000,
            globalStep,
            staying);
    event(
        "worker_leaving",
        Map.of(
            "worker", notice.workerId(), "step", globalStep, "graceMillis", notice.graceMillis()));
    if (staying == 0 && state == JobState.RUNNING && optimizer != null && !busy) {
      // the last worker is going: keep everything trained so far on disk right now; the step in
      // flight (if it completes within the grace) is checkpointed once it is applied
      checkpointAside("the last worker of the job is leaving");
    }
    maybeTakeJoiners();
  }

  /**
   * Writes a checkpoint of the parameters as they are (every step before {@link #globalStep})
   * without stopping the loop: the write runs on the I/O thread before any later optimizer step, so
   * parameters and state agree.
   */
  private void checkpointAside(String why) {
    if (lastCheckpointStep == globalStep) {
      return;
    }
    lastCheckpointStep = globalStep;
    getContext()
        .getLog()
        .info("Job {} writes a checkpoint at step {}: {}.", jobId, globalStep, why);
    long step = globalStep;
    getContext()
        .pipeToSelf(writeCheckpoint(), (ok, failure) -> new AsideCheckpointed(step, failure));
  }

  /**
   * Writes a checkpoint of the state now, and the report, on the job's I/O thread (where the
   * optimizer steps too, so no step changes the vectors while they are written).
   */
  private CompletableFuture<Void> writeCheckpoint() {
    TrainerState trainerState = trainerState();
    AdamW adam = optimizer.optimizer();
    JobReport report = report();
    return CompletableFuture.runAsync(
        () -> {
          try {
            checkpointer.writeStep(trainerState, adam.params(), adam.expAvg(), adam.expAvgSq());
            files.writeReport(report);
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        io);
  }

  private Behavior<Command> onAsideCheckpointed(AsideCheckpointed written) {
    if (written.error() != null) {
      lastCheckpointStep = -1;
      getContext()
          .getLog()
          .error(
              "Job {} could not write its checkpoint at step {} ({}); the earlier checkpoints are"
                  + " intact.",
              jobId,
              written.step(),
              rootMessage(written.error()));
      event(
          "checkpoint_failed",
          Map.of("step", written.step(), "error", rootMessage(written.error())));
    } else {
      event("checkpoint", Map.of("step", written.step()));
    }
    return this;
  }

  /** No worker to plan step {@link #globalStep} over: wait for one, pause after a while. */
  private void stall() {
    if (stalled) {
      return;
    }
    stalled = true;
    if (gathering) {
      round++; // whatever the old round still delivers is stale now
      gathering = false;
    }
    getContext()
        .getLog()
        .warn(
            "Job {} has no worker left at step {}; it waits up to {} for one, then pauses.",
            jobId,
            globalStep,
            timing.pauseAfter());
    event("no_workers", Map.of("step", globalStep));
    checkpointAside("the job has no worker left");
    timers.startSingleTimer(PauseDue.INSTANCE, PauseDue.INSTANCE, timing.pauseAfter());
    maybeTakeJoiners();
  }

  private Behavior<Command> onPauseDue() {
    if (!stalled || state != JobState.RUNNING) {
      return this;
    }
    getContext()
        .getLog()
        .warn(
            "Job {} had no worker for {}; it is PAUSED at step {} with its checkpoint, and goes"
                + " on when a worker joins.",
            jobId,
            timing.pauseAfter(),
            globalStep);
    setState(JobState.PAUSED);
    if (jobMetrics != null) {
      jobMetrics.onWorkersHeld(List.of());
    }
    event("paused", Map.of("step", globalStep));
    checkpointAside("the job pauses");
    return this;
  }

  private void resumeFromStall() {
    stalled = false;
    timers.cancel(PauseDue.INSTANCE);
    if (state == JobState.PAUSED) {
      setState(JobState.RUNNING);
      runningSince = clock.instant();
      stepsAtRunningSince = globalStep;
    }
    getContext()
        .getLog()
        .info("Job {} goes on from step {} with {} worker(s).", jobId, globalStep, held.size());
    event(
        "resumed_with_workers", Map.of("step", globalStep, "workers", List.copyOf(held.keySet())));
    startStep();
  }

  private void dropJoiner(WorkerHandle w, String why) {
    joining.remove(w.id());
    cost.release(w.id(), clock.instant());
    w.tell(new StopJob(jobId, "not taken: " + why));
    getContext()
        .getLog()
        .warn("Job {} does not take worker {}: {}; it goes on without it.", jobId, w.id(), why);
    event("worker_refused", Map.of("worker", w.id(), "reason", why));
  }

  /**
   * Membership knew before the step watchdog: the step in flight is planned again over the workers
   * left, in a higher round. The data plane's new gather replaces the old one, whose late answer
   * (and any late frame of the old round) is fenced out by its round.
   */
  private void replanStep(List<String> gone) {
    getContext()
        .getLog()
        .info(
            "Job {} plans step {} again over {} worker(s) now that {} left.",
            jobId,
            globalStep,
            held.size(),
            String.join(", ", gone));
    event(
        "step_replanned",
        Map.of("step", globalStep, "workers", List.copyOf(held.keySet()), "left", gone));
    round++;
    startStep();
  }

  private void maybeTakeWorkers() {
    if (trainRefs == null || !held.isEmpty()) {
      return;
    }
    List<WorkerHandle> available = latestWorkers.workers();
    int needed = Math.max(1, settings.workers());
    if (available.size() < needed) {
      return;
    }
    Instant now = clock.instant();
    for (WorkerHandle w : available.subList(0, needed)) {
      held.put(w.id(), w);
      cost.hold(w.id(), w.info().deviceCount(), now);
    }
    roundEpoch = latestWorkers.epoch();
    runningSince = now;
    getContext()
        .getLog()
        .info(
            "Job {} takes {} worker(s): {}.", jobId, held.size(), String.join(", ", held.keySet()));
    event("workers_held", Map.of("workers", List.copyOf(held.keySet())));
    JobAssignment assignment =
        new JobAssignment(jobId, specYaml(), settings.model().toString(), trainRefs, evalRefs);
    held.values().forEach(w -> w.tell(assignment));
  }

  private String specYaml() {
    try {
      return java.nio.file.Files.readString(files.dir().resolve("spec.yaml"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot read " + files.dir().resolve("spec.yaml"), e);
    }
  }

  private Behavior<Command> onFromWorker(FromWorker wrapped) {
    var message = wrapped.message().message();
    String workerId = wrapped.message().worker().id();
    if (state.isTerminal()) {
      return this;
    }
    if (joining.containsKey(workerId)) {
      if (message instanceof JobPrepared ready && reference != null) {
        onJoinerPrepared(ready);
      } else if (message instanceof JobPrepareFailed failed) {
        // a late joiner that cannot run the job costs the job nothing: it goes on without it
        dropJoiner(joining.get(workerId), failed.message());
      }
      return this;
    }
    if (!held.containsKey(workerId)) {
      return this;
    }
    if (message instanceof JobPrepared ready) {
      onPrepared(ready);
    } else if (message instanceof JobPrepareFailed failed) {
      return onPrepareFailed(workerId, failed);
    } else if (message instanceof StepFailed failed) {
      return onStepFailed(workerId, failed);
    } else if (message instanceof EvalResult result) {
      onEvalResult(result);
    } else if (message instanceof WorkerLeaving notice) {
      onWorkerLeaving(notice);
    }
    return this;
  }

  // ---- real errors: a small budget per job, quarantine for workers that keep failing ----

  /** The round the runner gathers now for {@code globalStep}. */
  private int currentRound() {
    return roundBase + (globalStep == 0 ? 1 : 0) + round;
  }

  private Behavior<Command> onPrepareFailed(String workerId, JobPrepareFailed failed) {
    if (state != JobState.WAITING_FOR_WORKERS) {
      return this;
    }
    if (failed.inputError()) {
      // the job's own input: every worker would fail the same way, so retrying only costs time
      return fail(failed.message());
    }
    if (countError(workerId, -1, failed.message())) {
      judge(workerId, failed.message(), -1, -1);
    }
    return this;
  }

  private Behavior<Command> onStepFailed(String workerId, StepFailed failed) {
    if (state != JobState.RUNNING || failed.step() != globalStep || busy) {
      return this; // an older step's report, or the step already gathered
    }
    if (optimizer == null) {
      return fail(failed.message()); // the initial adapter cannot be had: nothing to retry with
    }
    int stepRound = currentRound();
    if (failed.round() != StepFailed.UNKNOWN_ROUND && failed.round() != stepRound) {
      return this; // fenced: a report of a round already planned again
    }
    if (countError(workerId, globalStep, failed.message())) {
      judge(workerId, failed.message(), globalStep, stepRound);
    }
    return this;
  }

  /** Counts a real error; false when it was one too many and the job failed. */
  private boolean countError(String workerId, long step, String message) {
    jobErrors++;
    if (firstError == null) {
      firstError = message;
    }
    metrics.onWorkerError();
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("worker", workerId);
    fields.put("step", step < 0 ? null : step);
    fields.put("error", message);
    fields.put("errors", jobErrors);
    fields.put("budget", failures.jobErrorBudget());
    event("worker_error", fields);
    if (jobErrors > failures.jobErrorBudget()) {
      fail(
          jobErrors
              + " errors from workers, more than the job's error budget of "
              + failures.jobErrorBudget()
              + " (coordinator option --job-error-budget); the first: "
              + firstError);
      return false;
    }
    getContext()
        .getLog()
        .warn(
            "Job {}: {} (error {} of the job's budget of {}); the {} is tried again.",
            jobId,
            message,
            jobErrors,
            failures.jobErrorBudget(),
            step < 0 ? "preparation" : "step " + step);
    return true;
  }

  /**
   * Tells the registry about the error; its verdict (is the worker put aside?) comes back as {@link
   * ErrorJudged}, before any worker set that leaves the worker out.
   */
  private void judge(String workerId, String cause, long step, int stepRound) {
    registry.tell(
        new WorkerRegistry.ReportError(workerId, jobId, step, stepRound, cause, verdicts));
  }

  private Behavior<Command> onErrorJudged(ErrorJudged judged) {
    WorkerRegistry.ErrorVerdict verdict = judged.verdict();
    String id = verdict.workerId();
    if (state.isTerminal() || !held.containsKey(id)) {
      return this;
    }
    boolean putAside = verdict.quarantined();
    if (putAside) {
      WorkerHandle worker = held.remove(id);
      leaving.remove(id);
      // the registry's next worker set leaves it out; until then no code here may take it again
      latestWorkers =
          new WorkerRegistry.Workers(
              latestWorkers.workers().stream().filter(w -> !w.id().equals(id)).toList(),
              latestWorkers.epoch());
      cost.release(id, clock.instant());
      worker.tell(new StopJob(jobId, "quarantined"));
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("worker", id);
      fields.put("step", globalStep);
      fields.put("until", String.valueOf(verdict.until()));
      event("worker_quarantined", fields);
      getContext()
          .getLog()
          .warn(
              "Job {} lets go of worker {}, put aside until {} after repeated errors; {} worker(s)"
                  + " go on.",
              jobId,
              id,
              verdict.until(),
              held.size());
      if (jobMetrics != null) {
        jobMetrics.onWorkersHeld(held.keySet());
      }
    }
    if (verdict.step() < 0) {
      if (state != JobState.WAITING_FOR_WORKERS) {
        return this;
      }
      if (putAside) {
        // plan the job afresh without it
        Instant now = clock.instant();
        held.keySet().forEach(w -> cost.release(w, now));
        held.clear();
        prepared.clear();
        maybeTakeWorkers();
      } else {
        prepared.remove(id);
        held.get(id)
            .tell(
                new JobAssignment(
                    jobId, specYaml(), settings.model().toString(), trainRefs, evalRefs));
      }
      return this;
    }
    if (state != JobState.RUNNING || optimizer == null || busy) {
      return this; // the optimizer applies the step already: the next one is planned without it
    }
    if (held.isEmpty()) {
      return fail(
          "every worker of the job was put aside after repeated errors (step "
              + globalStep
              + "); the first: "
              + firstError);
    }
    if (!evalPending.isEmpty()) {
      if (putAside && evalPending.removeIf(k -> k.startsWith(id + "#"))) {
        maybeFinishEval();
      }
      return this;
    }
    if (gathering
        && ((verdict.step() == globalStep && verdict.round() == currentRound()) || putAside)) {
      event(
          "step_replanned",
          Map.of("step", globalStep, "workers", List.copyOf(held.keySet()), "failed", id));
      round++;
      startStep();
    }
    return this;
  }

  private void onPrepared(JobPrepared ready) {
    prepared.put(ready.workerId(), ready);
    if (prepared.size() < held.size() || planner != null) {
      return;
    }
    JobPrepared first = prepared.values().iterator().next();
    for (JobPrepared p : prepared.values()) {
      if (!Arrays.equals(p.trainExampleCounts(), first.trainExampleCounts())
          || !Arrays.equals(p.evalExampleCounts(), first.evalExampleCounts())
          || p.adapterLength() != first.adapterLength()) {
        fail(
            "workers disagree about the job's data or model: "
                + first.workerId()
                + " has "
                + Arrays.toString(first.trainExampleCounts())
                + " examples and "
                + first.adapterLength()
                + " adapter values, "
                + p.workerId()
                + " has "
                + Arrays.toString(p.trainExampleCounts())
                + " and "
                + p.adapterLength());
        return;
      }
    }
    try {
      double[] weights =
          settings.datasets().stream().mapToDouble(JobSettings.TrainSet::weight).toArray();
      planner =
          new ShardPlanner(
              first.trainExampleCounts(), weights, settings.globalBatchSize(), settings.seed());
      adapterLength = first.adapterLength();
      totalSteps = (long) planner.stepsPerEpoch() * settings.epochs();
      CheckpointFormat format =
          formatFactory.create(settings, first.modelConfigJson(), adapterLength);
      checkpointer = new Checkpointer(files.dir(), settings.keepLast(), format, files.fence());
    } catch (RuntimeException e) {
      fail(e.getMessage());
      return;
    }
    evalCounts = first.evalExampleCounts();
    reference = first;
    jobMetrics = metrics.job(jobId, settings.currency(), settings.checkpointEverySteps());
    jobMetrics.onPlanned(totalSteps);
    jobMetrics.onWorkersHeld(held.keySet());
    setState(JobState.RUNNING);
    getContext()
        .getLog()
        .info(
            "Job {} runs {} epoch(s) of {} samples: {} steps of up to {} samples.",
            jobId,
            settings.epochs(),
            planner.epochSize(),
            totalSteps,
            settings.globalBatchSize());
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(this::loadResumePoint, io),
            (point, failure) -> new ResumeLoaded(point, failure));
  }

  /** Runs on the I/O thread: the newest valid checkpoint, if the job has one. */
  private ResumePoint loadResumePoint() {
    try {
      Checkpointer.Scan scan = checkpointer.latestValid();
      if (scan.checkpoint().isEmpty()) {
        return new ResumePoint(null, null, null, scan.skipped(), List.of(), 0);
      }
      Path dir = scan.checkpoint().get();
      TrainerState saved = Checkpointer.readState(dir);
      float[][] vectors = checkpointer.format().read(dir);
      List<EpochReport> done = new ArrayList<>();
      Path reportFile = files.dir().resolve("report.json");
      if (Files.isRegularFile(reportFile)) {
        for (EpochReport e : JobFiles.readReport(reportFile).epochs()) {
          if (e.epoch() <= saved.epoch()) {
            done.add(e);
          }
        }
      }
      int incarnation = 1;
      Path events = files.dir().resolve("events.jsonl");
      if (Files.isRegularFile(events)) {
        try (var lines = Files.lines(events)) {
          incarnation += (int) lines.filter(l -> l.contains("\"type\":\"resumed\"")).count();
        }
      }
      return new ResumePoint(saved, vectors, dir, scan.skipped(), done, incarnation);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private Behavior<Command> onResumeLoaded(ResumeLoaded loaded) {
    if (state != JobState.RUNNING || optimizer != null) {
      return this;
    }
    if (loaded.error() != null) {
      return fail(
          "cannot read the job's checkpoints under "
              + files.dir().resolve("checkpoints")
              + ": "
              + rootMessage(loaded.error()));
    }
    ResumePoint point = loaded.point();
    if (point.state() == null) {
      if (!point.skipped().isEmpty()) {
        getContext()
            .getLog()
            .warn(
                "Job {} has no valid checkpoint to resume from ({}); it starts from step 0.",
                jobId,
                String.join("; ", point.skipped()));
      }
      requestInitialAdapter();
      return this;
    }
    TrainerState saved = point.state();
    float[][] v = point.vectors();
    if (v[0].length != adapterLength) {
      return fail(
          "the checkpoint "
              + point.checkpoint()
              + " holds "
              + v[0].length
              + " adapter values but the workers' model has "
              + adapterLength);
    }
    optimizer =
        new GradientStep(
            new AdamW(
                v[0],
                v[1],
                v[2],
                saved.optimizerSteps(),
                AdamW.DEFAULT_BETA1,
                AdamW.DEFAULT_BETA2,
                AdamW.DEFAULT_EPS,
                settings.weightDecay()),
            schedule(),
            settings.maxGradNorm());
    globalStep = saved.globalStep();
    skippedSteps = saved.skippedSteps();
    lossHistory.addAll(saved.lossHistory());
    if (!lossHistory.isEmpty()) {
      lastLoss = lossHistory.get(lossHistory.size() - 1).loss();
    }
    epochs.addAll(point.epochs());
    roundBase = point.incarnation() * ROUNDS_PER_INCARNATION;
    stepsAtRunningSince = globalStep;
    startEpochAccounting();
    TrainerState.EpochProgress progress = saved.epochProgress();
    if (progress != null) {
      epochSamples = progress.samples();
      epochTokens = progress.tokens();
      epochLossSum = progress.lossSum();
      epochSkipped = progress.skipped();
      epochMaxWorkers = progress.workers();
    }
    for (String skipped : point.skipped()) {
      getContext()
          .getLog()
          .warn("Job {} skips a damaged checkpoint on resume: {}.", jobId, skipped);
    }
    getContext()
        .getLog()
        .info(
            "Job {} resumes from {} at step {} of {} (epoch {}, step {} of the epoch), incarnation"
                + " {}.",
            jobId,
            point.checkpoint().getFileName(),
            globalStep,
            totalSteps,
            saved.epoch() + 1,
            saved.stepInEpoch(),
            point.incarnation());
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("step", globalStep);
    fields.put("checkpoint", point.checkpoint().getFileName().toString());
    fields.put("incarnation", point.incarnation());
    fields.put("skipped", point.skipped());
    event("resumed", fields);
    exchange.broadcast(jobId, globalStep, optimizer.optimizer().params());
    startStep();
    return this;
  }

  private LrSchedule schedule() {
    return new LrSchedule(
        LrSchedule.kindOf(settings.scheduler()),
        settings.learningRate(),
        settings.warmupSteps(),
        totalSteps);
  }

  private void requestInitialAdapter() {
    WorkerHandle source = held.values().iterator().next();
    CompletableFuture<GradientExchange.Gathered> init =
        exchange.gather(jobId, 0, 0, List.of(source.id()), adapterLength, timing.prepareDeadline());
    getContext().pipeToSelf(init, InitGathered::new);
    source.tell(new InitialAdapterRequest(jobId, settings.seed()));
  }

  private int[] evalCounts;

  private Behavior<Command> onInitGathered(InitGathered gathered) {
    if (state != JobState.RUNNING || optimizer != null) {
      return this;
    }
    if (gathered.error() != null
        || !(gathered.result() instanceof GradientExchange.Gathered.Complete complete)) {
      return fail(
          "the initial adapter did not arrive from the first worker: "
              + (gathered.error() != null
                  ? rootMessage(gathered.error())
                  : String.valueOf(gathered.result())));
    }
    LrSchedule schedule = schedule();
    optimizer =
        new GradientStep(
            new AdamW(complete.sum(), settings.weightDecay()), schedule, settings.maxGradNorm());
    startEpochAccounting();
    exchange.broadcast(jobId, 0, optimizer.optimizer().params());
    startStep();
    return this;
  }

  // ---- the training loop ----

  private int epochOf(long step) {
    return (int) (step / planner.stepsPerEpoch());
  }

  private void startStep() {
    if (cancelRequested) {
      finalizeJob(JobState.CANCELLED, null);
      return;
    }
    if (globalStep >= totalSteps) {
      finalizeJob(JobState.SUCCEEDED, null);
      return;
    }
    int epoch = epochOf(globalStep);
    int stepInEpoch = (int) (globalStep % planner.stepsPerEpoch());
    if (epoch != cachedEpoch) {
      cachedOrder = planner.epochOrder(epoch);
      cachedEpoch = epoch;
    }
    int[] batch = planner.stepBatch(cachedOrder, stepInEpoch);
    List<ShardPlanner.WorkerSlot> slots = new ArrayList<>();
    held.values().stream()
        .filter(w -> !leaving.contains(w.id()))
        .forEach(w -> slots.add(new ShardPlanner.WorkerSlot(w.id(), w.info().deviceCount())));
    if (slots.isEmpty()) {
      stall();
      return;
    }
    List<ShardPlanner.Share> shares = ShardPlanner.split(batch, slots);
    int stepRound = roundBase + (globalStep == 0 ? 1 : 0) + round;
    List<String> ids = shares.stream().map(ShardPlanner.Share::workerId).toList();
    stepStartNanos = System.nanoTime();
    gathering = true;
    epochMaxWorkers = Math.max(epochMaxWorkers, ids.size());
    long step = globalStep;
    CompletableFuture<GradientExchange.Gathered> gather =
        exchange.gather(jobId, step, stepRound, ids, adapterLength, timing.stepDeadline());
    getContext()
        .pipeToSelf(
            gather,
            (result, failure) -> new StepGathered(step, stepRound, batch.length, result, failure));
    long stepSeed = SplitMix64.mix(settings.seed(), 0x57E9, step);
    for (ShardPlanner.Share share : shares) {
      held.get(share.workerId())
          .tell(
              new StepAssignment(
                  jobId, step, stepRound, roundEpoch, share.exampleIndices(), stepSeed));
    }
  }

  private Behavior<Command> onStepGathered(StepGathered gathered) {
    int expectedRound = roundBase + (globalStep == 0 ? 1 : 0) + round;
    if (state != JobState.RUNNING
        || gathered.step() != globalStep
        || gathered.round() != expectedRound
        || busy) {
      return this; // fenced: an older step or round, or the job moved on
    }
    gathering = false;
    if (cancelRequested) {
      finalizeJob(JobState.CANCELLED, null);
      return this;
    }
    if (gathered.error() != null) {
      return fail(
          "the data plane failed in step " + globalStep + ": " + rootMessage(gathered.error()));
    }
    if (gathered.result() instanceof GradientExchange.Gathered.Incomplete missing) {
      Set<String> drop = missing.silent().isEmpty() ? missing.incomplete() : missing.silent();
      for (String id : drop) {
        if (held.remove(id) != null) {
          cost.release(id, clock.instant());
          metrics.onWorkerLost();
          event("worker_dropped", Map.of("worker", id, "step", globalStep));
          getContext()
              .getLog()
              .warn(
                  "Worker {} sent no gradient for step {} within {}; step {} is planned again"
                      + " over the other {} worker(s).",
                  id,
                  globalStep,
                  timing.stepDeadline(),
                  globalStep,
                  held.size());
        }
      }
      if (jobMetrics != null) {
        jobMetrics.onWorkersHeld(held.keySet());
      }
      round++;
      startStep(); // with no worker left it waits for one (and pauses after a while)
      return this;
    }
    GradientExchange.Gathered.Complete complete =
        (GradientExchange.Gathered.Complete) gathered.result();
    long step = globalStep;
    long samples = gathered.tokensExpected();
    busy = true;
    gatheredNanos = System.nanoTime();
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(
                () -> {
                  optimizerStartNanos = System.nanoTime();
                  GradientStep.Outcome outcome =
                      optimizer.apply(complete.sum(), complete.tokens(), step);
                  exchange.recycle(jobId, complete.sum()); // the next step sums into it
                  return outcome;
                },
                io),
            (outcome, failure) ->
                new StepApplied(step, outcome, complete.tokens(), complete.lossSum(), failure));
    epochSamples += samples;
    return this;
  }

  private Behavior<Command> onStepApplied(StepApplied applied) {
    busy = false;
    if (applied.error() != null) {
      return fail(
          "the optimizer failed in step " + applied.step() + ": " + rootMessage(applied.error()));
    }
    GradientStep.Outcome outcome = applied.outcome();
    int epoch = epochOf(applied.step());
    double loss = applied.tokens() > 0 ? applied.lossSum() / applied.tokens() : Double.NaN;
    if (outcome.applied()) {
      epochTokens += applied.tokens();
      epochLossSum += applied.lossSum();
      lastLoss = loss;
      lossHistory.add(new TrainerState.LossPoint(applied.step(), epoch, loss));
    } else {
      skippedSteps++;
      epochSkipped++;
      consecutiveSkips++;
      getContext()
          .getLog()
          .warn("Job {} skipped step {}: {}.", jobId, applied.step(), outcome.skipReason());
    }
    if (outcome.applied()) {
      consecutiveSkips = 0;
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("step", applied.step());
    fields.put("epoch", epoch + 1);
    fields.put("loss", Double.isFinite(loss) ? loss : null);
    fields.put("tokens", applied.tokens());
    fields.put("lr", outcome.lr());
    fields.put("gradNorm", Double.isFinite(outcome.gradNorm()) ? outcome.gradNorm() : null);
    fields.put("applied", outcome.applied());
    event("step", fields);
    globalStep++;
    round = 0;
    long appliedNanos = System.nanoTime();
    CoordinatorMetrics.Job broadcastMetrics = jobMetrics;
    exchange
        .broadcast(jobId, globalStep, optimizer.optimizer().params())
        .thenRun(
            () -> broadcastMetrics.onBroadcast(Duration.ofNanos(System.nanoTime() - appliedNanos)));
    if (jobMetrics != null) {
      if (outcome.applied()) {
        JobStatus now = status();
        jobMetrics.onStepCompleted(
            new StepMetrics(
                globalStep,
                epoch + 1,
                loss,
                outcome.lr(),
                outcome.gradNorm(),
                applied.tokens(),
                cachedOrder == null
                    ? 0
                    : planner.stepBatch(
                            cachedOrder, (int) (applied.step() % planner.stepsPerEpoch()))
                        .length,
                now.tokensPerSecond(),
                now.etaSeconds(),
                new StepMetrics.PhaseSeconds(
                    (gatheredNanos - stepStartNanos) / 1e9,
                    (optimizerStartNanos - gatheredNanos) / 1e9,
                    (appliedNanos - optimizerStartNanos) / 1e9)));
        jobMetrics.onCost(now.cost(), now.projectedCost());
      } else {
        jobMetrics.onSkippedStep(
            applied.tokens() <= 0
                ? SkipReason.NO_TRAINABLE_TOKENS
                : SkipReason.NON_FINITE_GRADIENT);
      }
    }
    boolean epochEnd = globalStep % planner.stepsPerEpoch() == 0;
    if (consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
      // the adapter is still the last good one (skipped steps never touch it): fail with it saved
      return fail(
          consecutiveSkips
              + " steps in a row (up to step "
              + applied.step()
              + ") were skipped: "
              + outcome.skipReason()
              + "; the adapter before them is checkpointed. Lower the learning rate or check the"
              + " data, then resume from that checkpoint");
    }
    boolean lastGoing = !leaving.isEmpty() && leaving.containsAll(held.keySet());
    if (cancelRequested) {
      finalizeJob(JobState.CANCELLED, null);
    } else if (epochEnd) {
      startEval();
    } else if (lastGoing) {
      // the job's last workers are going: keep this step on disk before waiting for others
      persistCheckpoint(this::startStep);
    } else if (settings.checkpointEverySteps() > 0
        && globalStep % settings.checkpointEverySteps() == 0) {
      persistCheckpoint(this::startStep);
    } else {
      startStep();
    }
    return this;
  }

  // ---- evaluation at epoch end ----

  private void startEval() {
    evalSums.clear();
    evalPending.clear();
    List<ShardPlanner.WorkerSlot> slots = new ArrayList<>();
    held.values().stream()
        .filter(w -> !leaving.contains(w.id()))
        .forEach(w -> slots.add(new ShardPlanner.WorkerSlot(w.id(), w.info().deviceCount())));
    if (settings.evals().isEmpty() || slots.isEmpty()) {
      finishEpoch();
      return;
    }
    for (int i = 0; i < evalCounts.length; i++) {
      evalSums.put(i, new double[2]);
      int[] all = new int[evalCounts[i]];
      Arrays.setAll(all, k -> k);
      if (all.length == 0) {
        continue;
      }
      for (ShardPlanner.Share share : ShardPlanner.split(all, slots)) {
        evalPending.add(share.workerId() + "#" + i);
        held.get(share.workerId())
            .tell(new EvalAssignment(jobId, globalStep, roundEpoch, i, share.exampleIndices()));
      }
    }
    timers.startSingleTimer(EvalTimedOut.INSTANCE, EvalTimedOut.INSTANCE, timing.evalDeadline());
    maybeFinishEval();
  }

  private void onEvalResult(EvalResult result) {
    if (result.step() != globalStep
        || !evalPending.remove(result.workerId() + "#" + result.evalIndex())) {
      return;
    }
    if (result.error() != null) {
      getContext().getLog().warn("Job {}: {}", jobId, result.error());
    } else {
      double[] sums = evalSums.get(result.evalIndex());
      sums[0] += result.lossSum();
      sums[1] += result.tokens();
    }
    maybeFinishEval();
  }

  private Behavior<Command> onEvalTimedOut() {
    if (!evalPending.isEmpty()) {
      getContext()
          .getLog()
          .warn(
              "Job {}: eval shares {} did not finish in time; reporting without them.",
              jobId,
              evalPending);
      evalPending.clear();
      maybeFinishEval();
    }
    return this;
  }

  private void maybeFinishEval() {
    if (evalPending.isEmpty() && state == JobState.RUNNING) {
      timers.cancel(EvalTimedOut.INSTANCE);
      finishEpoch();
    }
  }

  private void finishEpoch() {
    Instant now = clock.instant();
    int epochNumber = epochOf(globalStep - 1) + 1;
    Map<String, Double> evalLoss = new LinkedHashMap<>();
    for (int i = 0; i < settings.evals().size(); i++) {
      double[] sums = evalSums.get(i);
      evalLoss.put(
          settings.evals().get(i).name(), sums == null || sums[1] == 0 ? null : sums[0] / sums[1]);
    }
    double seconds = Duration.between(epochStart, now).toNanos() / 1e9;
    double gpuHours = cost.gpuHours(now) - gpuHoursAtEpochStart;
    EpochReport report =
        new EpochReport(
            epochNumber,
            epochSamples,
            epochTokens,
            seconds,
            gpuHours,
            cost.costOf(gpuHours),
            seconds > 0 ? epochTokens / seconds : 0.0,
            epochTokens > 0 ? epochLossSum / epochTokens : Double.NaN,
            evalLoss,
            epochMaxWorkers,
            epochSkipped);
    epochs.add(report);
    if (jobMetrics != null) {
      jobMetrics.onEpochCompleted(epochNumber, report.cost());
      evalLoss.forEach(
          (name, value) -> {
            if (value != null) {
              jobMetrics.onEvaluated(name, value);
            }
          });
    }
    getContext()
        .getLog()
        .info(
            "Job {} finished epoch {}: {} samples, train loss {}, eval loss {}, cost {} {}.",
            jobId,
            epochNumber,
            epochSamples,
            String.format("%.4f", report.trainLoss()),
            evalLoss,
            String.format("%.4f", report.cost()),
            settings.currency());
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("report", report);
    event("epoch", fields);
    startEpochAccounting();
    persistCheckpoint(this::startStep);
  }

  private void startEpochAccounting() {
    Instant now = clock.instant();
    epochStart = now;
    gpuHoursAtEpochStart = cost.gpuHours(now);
    epochSamples = 0;
    epochTokens = 0;
    epochLossSum = 0;
    epochSkipped = 0;
    epochMaxWorkers = 0;
  }

  // ---- checkpoints, reports, the end ----

  private TrainerState trainerState() {
    int epoch = planner == null ? 0 : epochOf(globalStep);
    int inEpoch = planner == null ? 0 : (int) (globalStep % planner.stepsPerEpoch());
    return new TrainerState(
        epoch,
        globalStep,
        inEpoch,
        settings.seed(),
        optimizer == null ? 0 : optimizer.optimizer().stepsTaken(),
        skippedSteps,
        lossHistory,
        new TrainerState.EpochProgress(
            epochSamples, epochTokens, epochLossSum, epochSkipped, epochMaxWorkers));
  }

  private long persistStartNanos;

  private void persistCheckpoint(Runnable then) {
    busy = true;
    lastCheckpointStep = globalStep;
    persistStartNanos = System.nanoTime();
    getContext().pipeToSelf(writeCheckpoint(), (ok, failure) -> new Persisted(then, failure));
  }

  private Behavior<Command> onPersisted(Persisted persisted) {
    busy = false;
    if (persisted.error() != null) {
      // a failed checkpoint does not stop training: the previous ones are intact
      getContext()
          .getLog()
          .error(
              "Job {} could not write its checkpoint at step {} ({}); training goes on and the"
                  + " earlier checkpoints are intact.",
              jobId,
              globalStep,
              rootMessage(persisted.error()));
      event(
          "checkpoint_failed", Map.of("step", globalStep, "error", rootMessage(persisted.error())));
    } else {
      event("checkpoint", Map.of("step", globalStep));
      if (jobMetrics != null) {
        jobMetrics.onCheckpointWritten(
            globalStep, Duration.ofNanos(System.nanoTime() - persistStartNanos));
      }
    }
    if (cancelRequested) {
      finalizeJob(JobState.CANCELLED, null);
    } else if (state == JobState.RUNNING) {
      persisted.then().run();
    }
    return this;
  }

  private Behavior<Command> onCancel(Cancel cancel) {
    if (state.isTerminal()) {
      cancel.replyTo().tell(status());
      return this;
    }
    cancelWaiters.add(cancel.replyTo());
    cancelRequested = true;
    if (optimizer == null) {
      finalizeJob(JobState.CANCELLED, null);
    } else if (!busy) {
      // waiting on workers: the parameters reflect every completed step, so stop now
      finalizeJob(JobState.CANCELLED, null);
    }
    return this;
  }

  private Behavior<Command> fail(String message) {
    if (!state.isTerminal()) {
      getContext().getLog().error("Job {} failed: {}", jobId, message);
      finalizeJob(JobState.FAILED, message);
    }
    return this;
  }

  private boolean finalizing;

  private void finalizeJob(JobState terminal, String reason) {
    if (finalizing || state.isTerminal()) {
      return;
    }
    finalizing = true;
    busy = true;
    gathering = false;
    persistStartNanos = System.nanoTime(); // the final checkpoint's write time
    timers.cancel(EvalTimedOut.INSTANCE);
    timers.cancel(PauseDue.INSTANCE);
    stalled = false;
    Instant now = clock.instant();
    cost.releaseAll(now);
    if (jobMetrics != null) {
      jobMetrics.onWorkersHeld(List.of());
    }
    for (WorkerHandle w : held.values()) {
      w.tell(new StopJob(jobId, terminal.name().toLowerCase(java.util.Locale.ROOT)));
    }
    for (WorkerHandle w : joining.values()) {
      w.tell(new StopJob(jobId, terminal.name().toLowerCase(java.util.Locale.ROOT)));
    }
    registry.tell(new WorkerRegistry.UnrouteJob(jobId));
    exchange.endJob(jobId);
    TrainerState trainerState = trainerState();
    AdamW adam = optimizer == null ? null : optimizer.optimizer();
    JobReport report =
        new JobReport(
            jobId, settings.name(), terminal, settings.currency(), cost.cost(now), epochs);
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(
                () -> {
                  try {
                    if (adam != null && terminal != JobState.FAILED) {
                      checkpointer.writeFinal(
                          trainerState, adam.params(), adam.expAvg(), adam.expAvgSq());
                    } else if (adam != null) {
                      checkpointer.writeStep(
                          trainerState, adam.params(), adam.expAvg(), adam.expAvgSq());
                    }
                    files.writeReport(report);
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                },
                io),
            (ok, failure) -> new Finalized(terminal, reason, failure));
  }

  private Behavior<Command> onFinalized(Finalized finalized) {
    busy = false;
    error = finalized.error();
    if (finalized.writeError() != null) {
      String write =
          "could not write the final checkpoint or report: " + rootMessage(finalized.writeError());
      getContext().getLog().error("Job {} {}", jobId, write);
      error = error == null ? write : error + "; " + write;
    }
    setState(finalized.state());
    JobStatus status = status();
    if (jobMetrics != null) {
      // the final figure: workers held until the end (eval, last checkpoint) cost money too
      jobMetrics.onCost(status.cost(), status.projectedCost());
      if (finalized.writeError() == null && optimizer != null) {
        jobMetrics.onCheckpointWritten(
            globalStep, Duration.ofNanos(System.nanoTime() - persistStartNanos));
      }
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("state", finalized.state().name());
    fields.put("totalCost", status.cost());
    if (error != null) {
      fields.put("error", error);
    }
    event("finished", fields);
    cancelWaiters.forEach(w -> w.tell(status));
    cancelWaiters.clear();
    manager.tell(new Finished(jobId, status));
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus get) {
    get.replyTo().tell(status());
    return this;
  }

  private JobReport report() {
    return new JobReport(
        jobId, settings.name(), state, settings.currency(), cost.cost(clock.instant()), epochs);
  }

  private JobStatus status() {
    Instant now = clock.instant();
    double spent = cost.cost(now);
    double tokensPerSecond = 0;
    double eta = 0;
    if (state == JobState.RUNNING && runningSince != null && epochStart != null) {
      double epochSeconds = Duration.between(epochStart, now).toNanos() / 1e9;
      tokensPerSecond = epochSeconds > 0 ? epochTokens / epochSeconds : 0;
      double runSeconds = Duration.between(runningSince, now).toNanos() / 1e9;
      long done = globalStep - stepsAtRunningSince;
      eta = done > 0 ? runSeconds / done * (totalSteps - globalStep) : 0;
    } else if (!epochs.isEmpty()) {
      tokensPerSecond = epochs.get(epochs.size() - 1).tokensPerSecond();
    }
    double projected =
        state.isTerminal() ? spent : spent + cost.costOf(eta / 3600.0 * cost.devicesHeld());
    return new JobStatus(
        jobId,
        settings.name(),
        state,
        planner == null ? 0 : Math.min(settings.epochs(), epochOf(globalStep) + 1),
        globalStep,
        totalSteps,
        lastLoss,
        tokensPerSecond,
        eta,
        spent,
        projected,
        settings.currency(),
        epochs,
        error);
  }

  private void setState(JobState next) {
    if (next == state) {
      return;
    }
    state = next;
    event("state", Map.of("state", next.name()));
    if (jobMetrics != null) {
      jobMetrics.onStateChanged(next.name());
    }
  }

  private void event(String type, Map<String, ?> fields) {
    Instant now = clock.instant();
    Map<String, Object> copy = new LinkedHashMap<>(fields);
    io.execute(
        () -> {
          try {
            files.appendEvent(now, type, copy);
          } catch (java.io.IOException e) {
            // events are a log: losing one line must not stop training
          }
        });
  }

  private Behavior<Command> onPostStop() {
    io.shutdown();
    try {
      // let a checkpoint or event line being written finish before the system goes
      io.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return this;
  }

  static String rootMessage(Throwable error) {
    Throwable t = error;
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof java.io.UncheckedIOException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.toString() : m;
  }
}
