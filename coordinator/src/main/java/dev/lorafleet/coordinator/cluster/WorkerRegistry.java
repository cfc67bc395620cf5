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
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.ClusterProtocol;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import dev.lorafleet.worker.cluster.WorkerNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
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
      permits Subscribe, GetWorkers, RouteJob, UnrouteJob, WorkerRegistry.ChunkRead {}

  /** Sends {@link Workers} now and after every change. */
  public record Subscribe(ActorRef<Workers> subscriber) implements Command {}

  /** Replies with the current {@link Workers} once. */
  public record GetWorkers(ActorRef<Workers> replyTo) implements Command {}

  /** The live workers (sorted by id) under membership epoch {@code epoch}. */
  public record Workers(List<WorkerHandle> workers, long epoch) {}

  /** Worker messages about {@code jobId} go to {@code runner}. */
  public record RouteJob(String jobId, ActorRef<FromWorker> runner) implements Command {}

  public record UnrouteJob(String jobId) implements Command {}

  /** A worker's message about a job, for that job's runner. */
  public record FromWorker(ControlMessage message, WorkerHandle worker) {}

  private record ChunkRead(DatasetChunk chunk, ActorRef<WorkerNode.Command> worker)
      implements Command {}

  private final DatasetStore datasets;
  private final Executor blocking;
  private final CoordinatorHello hello;
  private final CoordinatorMetrics metrics;
  private final Map<String, WorkerHandle> workers = new LinkedHashMap<>();
  private final Map<ActorRef<WorkerNode.Command>, String> idsByRef = new HashMap<>();
  private final Set<ActorRef<Workers>> subscribers = new HashSet<>();
  private final Map<String, ActorRef<FromWorker>> runners = new HashMap<>();
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
    return Behaviors.setup(
        context -> new WorkerRegistry(context, datasets, blocking, hello, metrics));
  }

  private WorkerRegistry(
      ActorContext<CoordinatorInbound> context,
      DatasetStore datasets,
      Executor blocking,
      CoordinatorHello hello,
      CoordinatorMetrics metrics) {
    super(context);
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
    if (runner != null) {
      runner.tell(new FromWorker(message, workers.get(id)));
    }
    return this;
  }

  private void onAnnounce(WorkerInfo info, ActorRef<WorkerNode.Command> ref) {
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
    if (id != null) {
      workers.remove(id);
      getContext().getLog().warn("Worker {} left the cluster.", id);
      publish();
    }
    return this;
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
