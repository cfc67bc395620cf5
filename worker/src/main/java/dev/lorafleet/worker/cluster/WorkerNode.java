package dev.lorafleet.worker.cluster;

import dev.lorafleet.common.protocol.ControlMessage;
import dev.lorafleet.common.protocol.CoordinatorHello;
import dev.lorafleet.common.protocol.DatasetChunk;
import dev.lorafleet.common.protocol.DatasetChunkRequest;
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
import dev.lorafleet.common.protocol.WorkerInfo;
import dev.lorafleet.common.protocol.WorkerLeaving;
import dev.lorafleet.worker.metrics.DeviceMemoryProbe.DeviceMemory;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
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
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * A worker node's one actor: announces the node to the coordinator, fetches a job's datasets, opens
 * the job's compute, and runs each step or eval share it is given. Everything that blocks
 * (downloads to disk, model loading, forward and backward passes, the data plane) runs on the
 * node's single compute thread, in the order the coordinator asked, and comes back as a message.
 */
public final class WorkerNode extends AbstractBehavior<WorkerNode.Command> {

  /** What this actor handles: control messages in {@link ClusterProtocol.ToWorker}. */
  public sealed interface Command
      permits ClusterProtocol.ToWorker,
          WorkerNode.CoordinatorsListed,
          WorkerNode.ExchangeConnected,
          WorkerNode.ChunkStored,
          WorkerNode.ComputeOpened,
          WorkerNode.WorkFinished,
          WorkerNode.Leave,
          WorkerNode.WorkDrained {}

  /**
   * The node was told to go (SIGTERM, a spot notice): tell the coordinator, finish the shares
   * already given, take no new job, then answer {@code replyTo} so the node leaves the cluster.
   */
  public record Leave(java.time.Duration grace, ActorRef<Left> replyTo) implements Command {}

  /** The answer to {@link Leave}: the shares this node had are done (or handed back). */
  public enum Left {
    INSTANCE
  }

  private record WorkDrained(ActorRef<Left> replyTo) implements Command {}

  private record CoordinatorsListed(Receptionist.Listing listing) implements Command {}

  private record ExchangeConnected(String endpoints, WorkerExchange exchange, Throwable error)
      implements Command {}

  private record ChunkStored(String jobId, long nextOffset, Throwable error) implements Command {}

  private record ComputeOpened(String jobId, JobCompute compute, Throwable error)
      implements Command {}

  /** A step, eval or init finished on the compute thread; {@code reply} goes to the coordinator. */
  private record WorkFinished(ControlMessage reply) implements Command {}

  /** A job being prepared: datasets still to download, then the compute to open. */
  private static final class Preparing {
    final JobAssignment assignment;
    final Deque<DatasetRef> missing = new ArrayDeque<>();
    Path partial;

    Preparing(JobAssignment assignment) {
      this.assignment = assignment;
    }
  }

  private static final int CHUNK_BYTES = 128 * 1024;

  private final WorkerSettings settings;
  private final JobComputeFactory computeFactory;
  private final WorkerExchange.Factory exchangeFactory;
  private final DatasetCache cache;
  private final ExecutorService computeThread;
  private final WorkerInfo info;
  private final WorkerMetrics metrics;
  private WorkerMetrics.Job meteredJob;

  private ActorRef<CoordinatorInbound> coordinator;
  private WorkerExchange exchange;
  private String exchangeEndpoints;
  private Preparing preparing;
  private String jobId;
  private JobCompute compute;
  private boolean leaving;

  public static Behavior<Command> create(
      WorkerSettings settings,
      JobComputeFactory computeFactory,
      WorkerExchange.Factory exchangeFactory) {
    return create(
        settings,
        computeFactory,
        exchangeFactory,
        new WorkerMetrics(
            new PrometheusRegistry(), settings.workerId(), java.util.List::<DeviceMemory>of));
  }

  /** A worker node that reports its job open time and each share's compute to {@code metrics}. */
  public static Behavior<Command> create(
      WorkerSettings settings,
      JobComputeFactory computeFactory,
      WorkerExchange.Factory exchangeFactory,
      WorkerMetrics metrics) {
    return Behaviors.setup(
        context -> new WorkerNode(context, settings, computeFactory, exchangeFactory, metrics));
  }

  private WorkerNode(
      ActorContext<Command> context,
      WorkerSettings settings,
      JobComputeFactory computeFactory,
      WorkerExchange.Factory exchangeFactory,
      WorkerMetrics metrics) {
    super(context);
    this.metrics = metrics;
    this.settings = settings;
    this.computeFactory = computeFactory;
    this.exchangeFactory = exchangeFactory;
    this.cache = new DatasetCache(settings.cacheDir());
    this.computeThread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "lorafleet-compute-" + settings.workerId());
              t.setDaemon(true);
              return t;
            });
    this.info =
        new WorkerInfo(
            settings.workerId(),
            settings.nodeName(),
            settings.deviceCount(),
            settings.deviceKind(),
            settings.dataPlaneHost());
    ActorRef<Receptionist.Listing> listings =
        context.messageAdapter(Receptionist.Listing.class, CoordinatorsListed::new);
    context
        .getSystem()
        .receptionist()
        .tell(Receptionist.register(ClusterProtocol.WORKER_KEY, context.getSelf()));
    context
        .getSystem()
        .receptionist()
        .tell(Receptionist.subscribe(ClusterProtocol.COORDINATOR_KEY, listings));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CoordinatorsListed.class, this::onCoordinatorsListed)
        .onMessage(ClusterProtocol.ToWorker.class, this::onToWorker)
        .onMessage(ExchangeConnected.class, this::onExchangeConnected)
        .onMessage(ChunkStored.class, this::onChunkStored)
        .onMessage(ComputeOpened.class, this::onComputeOpened)
        .onMessage(WorkFinished.class, this::onWorkFinished)
        .onMessage(Leave.class, this::onLeave)
        .onMessage(WorkDrained.class, this::onWorkDrained)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onCoordinatorsListed(CoordinatorsListed message) {
    Set<ActorRef<CoordinatorInbound>> found =
        message.listing().getServiceInstances(ClusterProtocol.COORDINATOR_KEY);
    if (!found.isEmpty() && !found.contains(coordinator)) {
      coordinator = found.iterator().next();
      getContext()
          .getLog()
          .info(
              "Worker {} found the coordinator at {}; announcing {} {} device(s).",
              settings.workerId(),
              coordinator.path().address(),
              settings.deviceCount(),
              settings.deviceKind());
      tellCoordinator(info);
    }
    return this;
  }

  private Behavior<Command> onToWorker(ClusterProtocol.ToWorker envelope) {
    ControlMessage message = envelope.message();
    if (message instanceof CoordinatorHello hello) {
      onHello(hello);
    } else if (message instanceof JobAssignment assignment) {
      onJobAssignment(assignment);
    } else if (message instanceof DatasetChunk chunk) {
      onDatasetChunk(chunk);
    } else if (message instanceof InitialAdapterRequest request) {
      onInitialAdapterRequest(request);
    } else if (message instanceof StepAssignment step) {
      onStepAssignment(step);
    } else if (message instanceof EvalAssignment eval) {
      onEvalAssignment(eval);
    } else if (message instanceof StopJob stop) {
      onStopJob(stop);
    } else {
      getContext()
          .getLog()
          .warn("Worker {} ignored an unexpected {}.", settings.workerId(), message.getClass());
    }
    return this;
  }

  private void onHello(CoordinatorHello hello) {
    if (hello.dataPlaneEndpoints().equals(exchangeEndpoints)) {
      return;
    }
    exchangeEndpoints = hello.dataPlaneEndpoints();
    String endpoints = hello.dataPlaneEndpoints();
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(
                () -> exchangeFactory.connect(endpoints, settings.workerId()), computeThread),
            (connected, error) -> new ExchangeConnected(endpoints, connected, error));
  }

  private Behavior<Command> onExchangeConnected(ExchangeConnected message) {
    if (message.error() != null) {
      getContext()
          .getLog()
          .error(
              "Worker {} cannot reach the coordinator's data plane at {}: {}",
              settings.workerId(),
              message.endpoints(),
              rootMessage(message.error()));
      exchangeEndpoints = null;
      return this;
    }
    if (exchange != null) {
      WorkerExchange old = exchange;
      computeThread.execute(old::close);
    }
    exchange = message.exchange();
    return this;
  }

  private void onJobAssignment(JobAssignment assignment) {
    if (leaving) {
      // too late to start a job here: say so at once rather than make the job wait for us
      tellCoordinator(
          new JobPrepareFailed(
              assignment.jobId(),
              settings.workerId(),
              "worker " + settings.workerId() + " on " + settings.nodeName() + " is leaving"));
      return;
    }
    closeCompute();
    jobId = assignment.jobId();
    preparing = new Preparing(assignment);
    for (List<DatasetRef> refs : List.of(assignment.trainDatasets(), assignment.evalDatasets())) {
      for (DatasetRef ref : refs) {
        if (!cache.contains(ref.contentHash())
            && preparing.missing.stream()
                .noneMatch(m -> m.contentHash().equals(ref.contentHash()))) {
          preparing.missing.add(ref);
        }
      }
    }
    getContext()
        .getLog()
        .info(
            "Worker {} preparing job {}: {} dataset(s) to fetch.",
            settings.workerId(),
            jobId,
            preparing.missing.size());
    fetchNextOrOpen();
  }

  private void fetchNextOrOpen() {
    if (preparing.missing.isEmpty()) {
      openCompute();
      return;
    }
    DatasetRef next = preparing.missing.peek();
    try {
      preparing.partial = cache.newPartial(next.contentHash());
    } catch (Exception e) {
      failPreparation(
          "cannot create a cache file under " + settings.cacheDir() + ": " + e.getMessage());
      return;
    }
    tellCoordinator(new DatasetChunkRequest(next.contentHash(), 0, CHUNK_BYTES));
  }

  private void onDatasetChunk(DatasetChunk chunk) {
    if (preparing == null
        || preparing.missing.isEmpty()
        || !preparing.missing.peek().contentHash().equals(chunk.contentHash())) {
      return; // a late chunk of a preparation that ended
    }
    if (chunk.error() != null) {
      failPreparation(
          "the coordinator could not send dataset "
              + preparing.missing.peek().name()
              + ": "
              + chunk.error());
      return;
    }
    Path partial = preparing.partial;
    String job = preparing.assignment.jobId();
    long next = chunk.offset() + chunk.bytes().length;
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(
                () -> {
                  try {
                    DatasetCache.append(partial, chunk.bytes());
                    if (next >= chunk.totalBytes()) {
                      cache.commit(chunk.contentHash(), partial);
                    }
                  } catch (Exception e) {
                    throw new IllegalStateException(e.getMessage(), e);
                  }
                },
                computeThread),
            (ok, error) -> new ChunkStored(job, next >= chunk.totalBytes() ? -1 : next, error));
  }

  private Behavior<Command> onChunkStored(ChunkStored stored) {
    if (preparing == null || !preparing.assignment.jobId().equals(stored.jobId())) {
      return this;
    }
    DatasetRef current = preparing.missing.peek();
    if (stored.error() != null) {
      failPreparation(
          "cannot store dataset "
              + current.name()
              + " under "
              + settings.cacheDir()
              + ": "
              + rootMessage(stored.error()));
    } else if (stored.nextOffset() < 0) {
      preparing.missing.poll();
      fetchNextOrOpen();
    } else {
      tellCoordinator(
          new DatasetChunkRequest(current.contentHash(), stored.nextOffset(), CHUNK_BYTES));
    }
    return this;
  }

  private void openCompute() {
    JobAssignment assignment = preparing.assignment;
    List<Path> train = new ArrayList<>();
    assignment.trainDatasets().forEach(ref -> train.add(cache.pathOf(ref.contentHash())));
    List<Path> eval = new ArrayList<>();
    assignment.evalDatasets().forEach(ref -> eval.add(cache.pathOf(ref.contentHash())));
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    long started = System.nanoTime();
                    JobCompute opened =
                        computeFactory.open(
                            assignment.specYaml(),
                            Path.of(assignment.modelPath()),
                            train,
                            eval,
                            settings.deviceCount());
                    metrics.onModelLoaded(Duration.ofNanos(System.nanoTime() - started));
                    return opened;
                  } catch (RuntimeException e) {
                    throw e;
                  } catch (Exception e) {
                    throw new IllegalStateException(e.getMessage(), e);
                  }
                },
                computeThread),
            (opened, error) -> new ComputeOpened(assignment.jobId(), opened, error));
  }

  private Behavior<Command> onComputeOpened(ComputeOpened opened) {
    if (preparing == null || !preparing.assignment.jobId().equals(opened.jobId())) {
      if (opened.compute() != null) {
        computeThread.execute(opened.compute()::close);
      }
      return this;
    }
    if (opened.error() != null) {
      failPreparation(rootMessage(opened.error()));
      return this;
    }
    compute = opened.compute();
    preparing = null;
    if (meteredJob != null && !meteredJob.id().equals(opened.jobId())) {
      metrics.forgetJob(meteredJob.id()); // one job's series at a time on a long-lived worker
    }
    meteredJob = metrics.forJob(opened.jobId());
    getContext()
        .getLog()
        .info("Worker {} is ready for job {}.", settings.workerId(), opened.jobId());
    tellCoordinator(
        new JobPrepared(
            opened.jobId(),
            settings.workerId(),
            compute.trainExampleCounts(),
            compute.evalExampleCounts(),
            compute.adapterLength(),
            compute.modelConfigJson()));
    return this;
  }

  private void failPreparation(String reason) {
    String job = preparing.assignment.jobId();
    preparing = null;
    String message = "worker " + settings.workerId() + " on " + settings.nodeName() + ": " + reason;
    getContext().getLog().error("Job {} cannot run here: {}", job, message);
    tellCoordinator(new JobPrepareFailed(job, settings.workerId(), message));
  }

  private void onInitialAdapterRequest(InitialAdapterRequest request) {
    JobCompute c = computeFor(request.jobId());
    WorkerExchange x = exchange;
    if (c == null || x == null) {
      return;
    }
    runOnComputeThread(
        () -> {
          x.sendGradient(request.jobId(), 0, 0, c.initialAdapter(request.seed()), 0, 0.0);
          return null;
        },
        error ->
            new StepFailed(
                request.jobId(),
                0,
                0,
                settings.workerId(),
                "cannot send the initial adapter: " + error));
  }

  private void onStepAssignment(StepAssignment step) {
    JobCompute c = computeFor(step.jobId());
    WorkerExchange x = exchange;
    WorkerMetrics.Job metered = meteredJob;
    if (c == null || x == null) {
      tellCoordinator(
          new StepFailed(
              step.jobId(),
              step.step(),
              step.membershipEpoch(),
              settings.workerId(),
              "worker " + settings.workerId() + " is not prepared for job " + step.jobId()));
      return;
    }
    runOnComputeThread(
        () -> {
          float[] params =
              x.awaitParameters(step.jobId(), step.step(), settings.parameterTimeout());
          long started = System.nanoTime();
          JobCompute.Gradients g = c.gradients(params, step.exampleIndices(), step.stepSeed());
          metered.onShareComputed(Duration.ofNanos(System.nanoTime() - started), g.tokens());
          x.sendGradient(step.jobId(), step.step(), step.round(), g.sum(), g.tokens(), g.lossSum());
          return null;
        },
        error ->
            new StepFailed(
                step.jobId(),
                step.step(),
                step.membershipEpoch(),
                settings.workerId(),
                "worker "
                    + settings.workerId()
                    + " failed step "
                    + step.step()
                    + " of job "
                    + step.jobId()
                    + ": "
                    + error));
  }

  private void onEvalAssignment(EvalAssignment eval) {
    JobCompute c = computeFor(eval.jobId());
    WorkerExchange x = exchange;
    if (c == null || x == null) {
      tellCoordinator(
          new EvalResult(
              eval.jobId(),
              eval.step(),
              settings.workerId(),
              eval.evalIndex(),
              0,
              0,
              0,
              "worker " + settings.workerId() + " is not prepared for job " + eval.jobId()));
      return;
    }
    runOnComputeThread(
        () -> {
          float[] params =
              x.awaitParameters(eval.jobId(), eval.step(), settings.parameterTimeout());
          JobCompute.EvalLoss loss = c.evaluate(params, eval.evalIndex(), eval.exampleIndices());
          return new EvalResult(
              eval.jobId(),
              eval.step(),
              settings.workerId(),
              eval.evalIndex(),
              loss.lossSum(),
              loss.tokens(),
              loss.examples(),
              null);
        },
        error ->
            new EvalResult(
                eval.jobId(),
                eval.step(),
                settings.workerId(),
                eval.evalIndex(),
                0,
                0,
                0,
                "worker " + settings.workerId() + " failed an eval share: " + error));
  }

  private void onStopJob(StopJob stop) {
    if (stop.jobId().equals(jobId)) {
      getContext()
          .getLog()
          .info("Worker {} leaves job {}: {}.", settings.workerId(), jobId, stop.reason());
      preparing = null;
      closeCompute();
      jobId = null;
    }
  }

  private Behavior<Command> onLeave(Leave leave) {
    leaving = true;
    String job = jobId;
    getContext()
        .getLog()
        .info(
            "Worker {} was told to go; it finishes {} and leaves the cluster within {} s.",
            settings.workerId(),
            job == null ? "nothing (no job)" : "its shares of job " + job,
            leave.grace().toSeconds());
    if (job != null) {
      tellCoordinator(new WorkerLeaving(job, settings.workerId(), leave.grace().toMillis()));
    }
    preparing = null; // a job still being prepared here is given back: the coordinator replans
    // the compute thread runs work in order: once this runs, every share given before is sent
    ActorRef<Left> replyTo = leave.replyTo();
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(() -> {}, computeThread),
            (ok, error) -> new WorkDrained(replyTo));
    return this;
  }

  private Behavior<Command> onWorkDrained(WorkDrained drained) {
    getContext()
        .getLog()
        .info("Worker {} finished its shares; it leaves the cluster now.", settings.workerId());
    drained.replyTo().tell(Left.INSTANCE);
    return this;
  }

  /** A unit of blocking work whose answer (or failure message) goes back to the coordinator. */
  @FunctionalInterface
  private interface Work {
    ControlMessage run() throws Exception;
  }

  private void runOnComputeThread(
      Work work, java.util.function.Function<String, ControlMessage> onError) {
    CompletableFuture<ControlMessage> future =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return work.run();
              } catch (RuntimeException e) {
                throw e;
              } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
              }
            },
            computeThread);
    getContext()
        .pipeToSelf(
            future,
            (reply, error) ->
                new WorkFinished(error == null ? reply : onError.apply(rootMessage(error))));
  }

  private Behavior<Command> onWorkFinished(WorkFinished finished) {
    if (finished.reply() != null) {
      if (finished.reply() instanceof StepFailed failed) {
        getContext().getLog().error("{}", failed.message());
      }
      tellCoordinator(finished.reply());
    }
    return this;
  }

  private JobCompute computeFor(String job) {
    return job.equals(jobId) ? compute : null;
  }

  private void closeCompute() {
    if (compute != null) {
      JobCompute c = compute;
      computeThread.execute(c::close);
      compute = null;
    }
  }

  private void tellCoordinator(ControlMessage message) {
    if (coordinator != null) {
      coordinator.tell(new ClusterProtocol.ToCoordinator(message, getContext().getSelf()));
    }
  }

  private Behavior<Command> onPostStop() {
    closeCompute();
    if (exchange != null) {
      computeThread.execute(exchange::close);
    }
    computeThread.shutdown();
    return this;
  }

  static String rootMessage(Throwable error) {
    Throwable t = error;
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof IllegalStateException)
        && t.getCause() != null
        && t.getMessage() != null
        && t.getCause().getMessage() != null
        && t.getMessage().contains(t.getCause().getMessage())) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.toString() : m;
  }
}
