package dev.lorafleet.coordinator.cluster;

import dev.lorafleet.common.protocol.ControlMessage;
import dev.lorafleet.common.protocol.CoordinatorHello;
import dev.lorafleet.common.protocol.DatasetChunk;
import dev.lorafleet.common.protocol.DatasetChunkRequest;
import dev.lorafleet.common.protocol.EvalResult;
import dev.lorafleet.common.protocol.JobPrepareFailed;
import dev.lorafleet.common.protocol.JobPrepared;
import dev.lorafleet.common.protocol.StepFailed;
import dev.lorafleet.common.protocol.WorkerInfo;
import dev.lorafleet.common.protocol.WorkerLeaving;
import dev.lorafleet.coordinator.job.FailurePolicy;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.ClusterProtocol;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import dev.lorafleet.worker.cluster.WorkerNode;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Who the coordinator's workers are. Workers find this actor through the Receptionist and announce
 * themselves; it watches each one, numbers every change of the worker set (the membership epoch
 * that fences late answers), tells subscribers, routes job messages to the job's runner and serves
 * dataset chunks.
 */
public final class WorkerRegistry extends AbstractBehavior<CoordinatorInbound> {

  /** The commands of the coordinator's own actors (workers send {@code ToCoordinator}). */
  public sealed interface Command extends CoordinatorInbound
      permits Subscribe,
          GetWorkers,
          GetRoster,
          RouteJob,
          UnrouteJob,
          ReportError,
          WorkerRegistry.ChunkRead,
          WorkerRegistry.LiftQuarantine {}

  /** Sends {@link Workers} now and after every change. */
  public record Subscribe(ActorRef<Workers> subscriber) implements Command {}

  /** Replies with the current {@link Workers} once. */
  public record GetWorkers(ActorRef<Workers> replyTo) implements Command {}

  /** The live workers (sorted by id) under membership epoch {@code epoch}. */
  public record Workers(List<WorkerHandle> workers, long epoch) {}

  /** Replies with every known worker once: the live ones and those put aside. */
  public record GetRoster(ActorRef<Roster> replyTo) implements Command {}

  /** The live workers (as in {@link Workers}) and the quarantined ones, both sorted by id. */
  public record Roster(List<WorkerHandle> live, List<Quarantined> quarantined) {}

  /** A worker put aside after repeated errors, until {@code until}; {@code cause} is the last. */
  public record Quarantined(WorkerHandle worker, Instant until, String cause) {}

  /**
   * A job runner's report of a real error on {@code workerId} (not a preemption) in round {@code
   * round} of step {@code step} (both -1 for a job preparation). The registry replies with its
   * {@link ErrorVerdict} before it publishes the smaller worker set, so a runner that receives both
   * through message adapters learns of a quarantine from the verdict first.
   */
  public record ReportError(
      String workerId,
      String jobId,
      long step,
      int round,
      String cause,
      ActorRef<ErrorVerdict> replyTo)
      implements Command {}

  /**
   * Whether the error of {@code workerId} in {@code step}/{@code round} (echoed from the report)
   * put the worker aside, and until when (null when it did not).
   */
  public record ErrorVerdict(
      String workerId, long step, int round, boolean quarantined, Instant until) {}

  /** Worker messages about {@code jobId} go to {@code runner}. */
  public record RouteJob(String jobId, ActorRef<FromWorker> runner) implements Command {}

  public record UnrouteJob(String jobId) implements Command {}

  /** A worker's message about a job, for that job's runner. */
  public record FromWorker(ControlMessage message, WorkerHandle worker) {}

  private record ChunkRead(DatasetChunk chunk, ActorRef<WorkerNode.Command> worker)
      implements Command {}

  private record LiftQuarantine(String workerId) implements Command {}

  private final DatasetStore datasets;
  private final Executor blocking;
  private final CoordinatorHello hello;
  private final CoordinatorMetrics metrics;
  private final Map<String, WorkerHandle> workers = new LinkedHashMap<>();
  private final Map<ActorRef<WorkerNode.Command>, String> idsByRef = new HashMap<>();
  private final Set<ActorRef<Workers>> subscribers = new HashSet<>();
  private final Map<String, ActorRef<FromWorker>> runners = new HashMap<>();
  private final FailurePolicy policy;
  private final Clock clock;
  private final TimerScheduler<CoordinatorInbound> timers;
  private final Map<String, Deque<Instant>> recentErrors = new HashMap<>();
  private final Map<String, Quarantined> quarantined = new TreeMap<>();
  private long epoch;

  public static Behavior<CoordinatorInbound> create(
      DatasetStore datasets, Executor blocking, CoordinatorHello hello) {
    return create(datasets, blocking, hello, CoordinatorMetrics.create());
  }

  /** A registry that reports the live workers and their devices to {@code metrics}. */
  public static Behavior<CoordinatorInbound> create(
      DatasetStore datasets,
      Executor blocking,
      CoordinatorHello hello,
      CoordinatorMetrics metrics) {
    return create(datasets, blocking, hello, metrics, FailurePolicy.defaults(), Clock.systemUTC());
  }

  /** A registry that puts aside workers that keep failing, as {@code policy} says. */
  public static Behavior<CoordinatorInbound> create(
      DatasetStore datasets,
      Executor blocking,
      CoordinatorHello hello,
      CoordinatorMetrics metrics,
      FailurePolicy policy,
      Clock clock) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers ->
                    new WorkerRegistry(
                        context, timers, datasets, blocking, hello, metrics, policy, clock)));
  }

  private WorkerRegistry(
      ActorContext<CoordinatorInbound> context,
      TimerScheduler<CoordinatorInbound> timers,
      DatasetStore datasets,
      Executor blocking,
      CoordinatorHello hello,
      CoordinatorMetrics metrics,
      FailurePolicy policy,
      Clock clock) {
    super(context);
    this.timers = timers;
    this.policy = policy;
    this.clock = clock;
    this.metrics = metrics;
    this.datasets = datasets;
    this.blocking = blocking;
    this.hello = hello;
    context
        .getSystem()
        .receptionist()
        .tell(Receptionist.register(ClusterProtocol.COORDINATOR_KEY, context.getSelf()));
  }

  @Override
  public Receive<CoordinatorInbound> createReceive() {
    return newReceiveBuilder()
        .onMessage(ClusterProtocol.ToCoordinator.class, this::onFromWorker)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(
            GetWorkers.class,
            get -> {
              get.replyTo().tell(snapshot());
              return this;
            })
        .onMessage(
            GetRoster.class,
            get -> {
              get.replyTo().tell(roster());
              return this;
            })
        .onMessage(ReportError.class, this::onReportError)
        .onMessage(LiftQuarantine.class, this::onLiftQuarantine)
        .onMessage(RouteJob.class, this::onRouteJob)
        .onMessage(UnrouteJob.class, this::onUnrouteJob)
        .onMessage(ChunkRead.class, this::onChunkRead)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<CoordinatorInbound> onFromWorker(ClusterProtocol.ToCoordinator envelope) {
    ControlMessage message = envelope.message();
    ActorRef<WorkerNode.Command> ref = envelope.worker();
    if (message instanceof WorkerInfo info) {
      onAnnounce(info, ref);
      return this;
    }
    if (message instanceof DatasetChunkRequest request) {
      getContext()
          .pipeToSelf(
              CompletableFuture.supplyAsync(
                  () -> datasets.chunk(request.contentHash(), request.offset(), request.maxBytes()),
                  blocking),
              (chunk, error) ->
                  new ChunkRead(
                      chunk != null
                          ? chunk
                          : new DatasetChunk(
                              request.contentHash(),
                              request.offset(),
                              new byte[0],
                              0,
                              String.valueOf(error)),
                      ref));
      return this;
    }
    String id = idsByRef.get(ref);
    if (id == null) {
      return this; // not (or no longer) a member: its late messages are fenced out
    }
    String jobId = jobOf(message);
    ActorRef<FromWorker> runner = jobId == null ? null : runners.get(jobId);
    if (runner != null && workers.containsKey(id)) { // a quarantined worker's reports are moot
      runner.tell(new FromWorker(message, workers.get(id)));
    }
    return this;
  }

  private void onAnnounce(WorkerInfo info, ActorRef<WorkerNode.Command> ref) {
    Quarantined aside = quarantined.get(info.workerId());
    if (aside != null) {
      // a quarantined worker that restarted stays aside until its time is up
      if (!aside.worker().ref().equals(ref)) {
        idsByRef.remove(aside.worker().ref());
        getContext().unwatch(aside.worker().ref());
        quarantined.put(
            info.workerId(),
            new Quarantined(new WorkerHandle(info, ref), aside.until(), aside.cause()));
        idsByRef.put(ref, info.workerId());
        getContext().watch(ref);
      }
      ref.tell(new ClusterProtocol.ToWorker(hello));
      return;
    }
    WorkerHandle previous = workers.get(info.workerId());
    if (previous != null && previous.ref().equals(ref)) {
      ref.tell(new ClusterProtocol.ToWorker(hello));
      return;
    }
    if (previous != null) {
      idsByRef.remove(previous.ref());
      getContext().unwatch(previous.ref());
    }
    WorkerHandle handle = new WorkerHandle(info, ref);
    workers.put(info.workerId(), handle);
    idsByRef.put(ref, info.workerId());
    getContext().watch(ref);
    getContext()
        .getLog()
        .info(
            "Worker {} joined from node {} with {} {} device(s).",
            info.workerId(),
            info.nodeName(),
            info.deviceCount(),
            info.deviceKind());
    ref.tell(new ClusterProtocol.ToWorker(hello));
    publish();
  }

  private Behavior<CoordinatorInbound> onTerminated(Terminated terminated) {
    String id = idsByRef.remove(terminated.getRef());
    if (id != null && workers.remove(id) != null) {
      getContext().getLog().warn("Worker {} left the cluster.", id);
      publish();
    } else if (id != null) {
      // it stays on the quarantine list: if it comes back before its time, it waits
      getContext().getLog().info("Worker {} left the cluster while put aside.", id);
    }
    return this;
  }

  private Behavior<CoordinatorInbound> onReportError(ReportError report) {
    String id = report.workerId();
    Instant now = clock.instant();
    Deque<Instant> errors = recentErrors.computeIfAbsent(id, k -> new ArrayDeque<>());
    errors.addLast(now);
    Instant windowStart = now.minus(policy.quarantineWindow());
    while (!errors.isEmpty() && errors.peekFirst().isBefore(windowStart)) {
      errors.pollFirst();
    }
    WorkerHandle handle = workers.get(id);
    if (handle == null || errors.size() < policy.quarantineAfter()) {
      report.replyTo().tell(new ErrorVerdict(id, report.step(), report.round(), false, null));
      return this;
    }
    recentErrors.remove(id);
    Instant until = now.plus(policy.quarantineFor());
    workers.remove(id);
    quarantined.put(id, new Quarantined(handle, until, report.cause()));
    metrics.onWorkerQuarantined(quarantined.size());
    timers.startSingleTimer(id, new LiftQuarantine(id), policy.quarantineFor());
    getContext()
        .getLog()
        .warn(
            "Worker {} on node {} failed {} time(s) within {} (the last in job {}: {}); it is put"
                + " aside until {}: no shares and no jobs until then.",
            id,
            handle.info().nodeName(),
            policy.quarantineAfter(),
            policy.quarantineWindow(),
            report.jobId(),
            report.cause(),
            until);
    // the verdict first: the runner drops the worker from its step before it sees the new set
    report.replyTo().tell(new ErrorVerdict(id, report.step(), report.round(), true, until));
    publish();
    return this;
  }

  private Behavior<CoordinatorInbound> onLiftQuarantine(LiftQuarantine lift) {
    Quarantined aside = quarantined.remove(lift.workerId());
    if (aside == null) {
      return this;
    }
    metrics.onQuarantineChanged(quarantined.size());
    if (idsByRef.containsKey(aside.worker().ref())) {
      workers.put(lift.workerId(), aside.worker());
      getContext()
          .getLog()
          .info(
              "Worker {} is back from quarantine and may take shares and jobs again.",
              lift.workerId());
      publish();
    }
    return this;
  }

  private Roster roster() {
    List<Quarantined> aside = new ArrayList<>(quarantined.values());
    return new Roster(snapshot().workers(), List.copyOf(aside));
  }

  private Behavior<CoordinatorInbound> onSubscribe(Subscribe subscribe) {
    subscribers.add(subscribe.subscriber());
    subscribe.subscriber().tell(snapshot());
    return this;
  }

  private Behavior<CoordinatorInbound> onRouteJob(RouteJob route) {
    runners.put(route.jobId(), route.runner());
    return this;
  }

  private Behavior<CoordinatorInbound> onUnrouteJob(UnrouteJob route) {
    runners.remove(route.jobId());
    return this;
  }

  private Behavior<CoordinatorInbound> onChunkRead(ChunkRead read) {
    read.worker().tell(new ClusterProtocol.ToWorker(read.chunk()));
    return this;
  }

  private void publish() {
    epoch++;
    metrics.onWorkersChanged(
        workers.size(), workers.values().stream().mapToInt(w -> w.info().deviceCount()).sum());
    Workers snapshot = snapshot();
    subscribers.forEach(s -> s.tell(snapshot));
  }

  private Workers snapshot() {
    List<WorkerHandle> list = new ArrayList<>(workers.values());
    list.sort((a, b) -> a.id().compareTo(b.id()));
    return new Workers(List.copyOf(list), epoch);
  }

  private static String jobOf(ControlMessage message) {
    if (message instanceof JobPrepared m) {
      return m.jobId();
    } else if (message instanceof JobPrepareFailed m) {
      return m.jobId();
    } else if (message instanceof StepFailed m) {
      return m.jobId();
    } else if (message instanceof EvalResult m) {
      return m.jobId();
    } else if (message instanceof WorkerLeaving m) {
      return m.jobId();
    }
    return null;
  }
}
