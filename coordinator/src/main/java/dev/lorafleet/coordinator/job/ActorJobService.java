package dev.lorafleet.coordinator.job;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.SpecPreflight;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.coordinator.api.JobService;
import dev.lorafleet.coordinator.api.JobServiceException;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.ScaleView;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.cluster.WorkerHandle;
import dev.lorafleet.coordinator.cluster.WorkerRegistry;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The HTTP API's {@link JobService} over the coordinator's actors: each call is an ask to the job
 * manager, a job runner or the worker registry.
 */
public final class ActorJobService implements JobService {
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(30);

  private final ActorSystem<?> system;
  private final ActorRef<JobManager.Command> manager;
  private final ActorRef<CoordinatorInbound> registry;
  private final SpecPreflight preflight;
  private final Path baseDir;
  private final IntFunction<CompletionStage<ScaleView>> scaler;

  /**
   * @param baseDir relative spec paths resolve against it
   * @param scaler asks for N worker nodes; null where the coordinator cannot scale
   */
  public ActorJobService(
      ActorSystem<?> system,
      ActorRef<JobManager.Command> manager,
      ActorRef<CoordinatorInbound> registry,
      SpecPreflight preflight,
      Path baseDir,
      IntFunction<CompletionStage<ScaleView>> scaler) {
    this.system = system;
    this.manager = manager;
    this.registry = registry;
    this.preflight = preflight;
    this.baseDir = baseDir;
    this.scaler = scaler;
  }

  @Override
  public CompletionStage<SubmitResult> submit(JobSpec spec, String rawSpecText) {
    return CompletableFuture.supplyAsync(() -> preflight.check(spec))
        .thenCompose(
            problems -> {
              if (!problems.isEmpty()) {
                return CompletableFuture.completedFuture(
                    (SubmitResult) new SubmitResult.Rejected(problems));
              }
              JobSettings settings = JobSettings.from(spec, baseDir);
              return AskPattern.<JobManager.Command, JobManager.Submitted>ask(
                      manager,
                      replyTo -> new JobManager.Submit(settings, rawSpecText, replyTo),
                      ASK_TIMEOUT,
                      system.scheduler())
                  .thenApply(
                      submitted ->
                          submitted.error() != null
                              ? new SubmitResult.Rejected(
                                  List.of(new SpecProblem(SpecProblem.DOCUMENT, submitted.error())))
                              : new SubmitResult.Accepted(toView(submitted.status())));
            });
  }

  @Override
  public CompletionStage<List<JobView>> list() {
    return AskPattern.<JobManager.Command, List<ActorRef<JobRunner.Command>>>ask(
            manager, JobManager.ListJobs::new, ASK_TIMEOUT, system.scheduler())
        .thenCompose(
            runners -> {
              List<CompletableFuture<JobStatus>> asks = new ArrayList<>();
              for (ActorRef<JobRunner.Command> runner : runners) {
                asks.add(status(runner).toCompletableFuture());
              }
              return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                  .thenApply(
                      done -> {
                        List<JobView> views = new ArrayList<>();
                        asks.forEach(a -> views.add(toView(a.join())));
                        views.sort(Comparator.comparing(JobView::id).reversed());
                        return views;
                      });
            });
  }

  @Override
  public CompletionStage<JobView> get(String jobId) {
    return AskPattern.<JobManager.Command, java.util.Optional<ActorRef<JobRunner.Command>>>ask(
            manager,
            replyTo -> new JobManager.GetJob(jobId, replyTo),
            ASK_TIMEOUT,
            system.scheduler())
        .thenCompose(
            runner ->
                runner
                    .map(r -> status(r).thenApply(ActorJobService::toView))
                    .orElseGet(
                        () -> CompletableFuture.failedFuture(JobServiceException.notFound(jobId))));
  }

  @Override
  public CompletionStage<JobView> cancel(String jobId) {
    return AskPattern.<JobManager.Command, java.util.Optional<JobStatus>>ask(
            manager,
            replyTo -> new JobManager.CancelJob(jobId, replyTo),
            Duration.ofMinutes(5),
            system.scheduler())
        .thenCompose(
            status ->
                status
                    .map(s -> CompletableFuture.completedFuture(toView(s)))
                    .orElseGet(
                        () -> CompletableFuture.failedFuture(JobServiceException.notFound(jobId))));
  }

  @Override
  public CompletionStage<List<WorkerView>> workers() {
    return AskPattern.<CoordinatorInbound, WorkerRegistry.Roster>ask(
            registry, WorkerRegistry.GetRoster::new, ASK_TIMEOUT, system.scheduler())
        .thenApply(
            roster -> {
              List<WorkerView> views = new java.util.ArrayList<>();
              roster.live().forEach(w -> views.add(view(w, WorkerView.State.IDLE)));
              roster
                  .quarantined()
                  .forEach(q -> views.add(view(q.worker(), WorkerView.State.QUARANTINED)));
              return List.copyOf(views);
            });
  }

  private static WorkerView view(WorkerHandle w, WorkerView.State state) {
    return new WorkerView(
        w.info().nodeName(),
        w.ref().path().address().toString(),
        w.info().deviceCount(),
        w.info().deviceKind(),
        state,
        null,
        null);
  }

  @Override
  public CompletionStage<ScaleView> scale(int replicas) {
    if (replicas < 0) {
      return CompletableFuture.failedFuture(
          new JobServiceException(
              JobServiceException.Kind.INVALID, "replicas", "replicas must be >= 0"));
    }
    if (scaler == null) {
      return CompletableFuture.failedFuture(
          new JobServiceException(
              JobServiceException.Kind.UNAVAILABLE,
              "replicas",
              "this coordinator does not run on Kubernetes; start or stop worker processes"
                  + " instead"));
    }
    return scaler.apply(replicas);
  }

  @Override
  public CompletionStage<Boolean> ready() {
    return CompletableFuture.completedFuture(true);
  }

  private CompletionStage<JobStatus> status(ActorRef<JobRunner.Command> runner) {
    return AskPattern.ask(runner, JobRunner.GetStatus::new, ASK_TIMEOUT, system.scheduler());
  }

  /** The API's view of a job status (non-finite numbers become null there). */
  public static JobView toView(JobStatus s) {
    return new JobView(
        s.id(),
        s.name(),
        s.state(),
        s.epoch(),
        s.step(),
        s.totalSteps(),
        s.loss(),
        s.tokensPerSecond(),
        s.etaSeconds(),
        s.cost(),
        s.projectedCost(),
        s.currency(),
        s.epochs(),
        s.error());
  }
}
