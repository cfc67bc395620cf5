package dev.lorafleet.coordinator.api;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.SpecProblem;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A hand-written {@link JobService} for API and CLI tests: keeps jobs in memory, records what it
 * was asked, and can be told to refuse, fail, hang or script a job's progress.
 */
public final class TestingJobService implements JobService {
  /** What {@link #submit} does next. */
  public enum Mode {
    ACCEPT,
    /** Answers {@link #preflightProblems} as a rejection. */
    REJECT,
    /** Throws a surprise (a bug in the coordinator). */
    THROW,
    /** Never answers (a stuck actor). */
    HANG
  }

  public final List<JobSpec> submitted = new CopyOnWriteArrayList<>();
  public final List<String> rawTexts = new CopyOnWriteArrayList<>();
  public final List<Integer> scaleRequests = new CopyOnWriteArrayList<>();
  public final List<String> cancelled = new CopyOnWriteArrayList<>();
  public volatile Mode mode = Mode.ACCEPT;
  public volatile List<SpecProblem> preflightProblems =
      List.of(new SpecProblem("datasets[0].path", "/data/a.jsonl does not exist"));
  public volatile boolean ready = true;
  public volatile boolean canScale = true;
  public volatile List<WorkerView> workers =
      List.of(
          new WorkerView(
              "gpu-node-1",
              "pekko://lorafleet@10.0.0.5:25520",
              8,
              "cuda",
              WorkerView.State.BUSY,
              "job-1",
              "2025-01-01T00:00:00Z"));

  private final Map<String, JobView> jobs = Collections.synchronizedMap(new LinkedHashMap<>());

  /** Successive views {@link #get} answers for a job (the last one repeats): a scripted run. */
  private final Map<String, List<JobView>> scripts =
      Collections.synchronizedMap(new LinkedHashMap<>());

  private int nextId = 1;

  /**
   * The next accepted job's run: {@link #get} answers these views (their ids replaced by the new
   * job's) one after another, then the last.
   */
  public volatile List<JobView> nextRun;

  /** {@link #get} answers these views of {@code jobId} one after another, then the last. */
  public void script(String jobId, List<JobView> views) {
    scripts.put(jobId, new ArrayList<>(views));
    jobs.put(jobId, views.get(0));
  }

  public void put(JobView job) {
    jobs.put(job.id(), job);
  }

  @Override
  public CompletionStage<SubmitResult> submit(JobSpec spec, String rawSpecText) {
    return switch (mode) {
      case THROW -> throw new IllegalStateException("simulated bug in the job manager");
      case HANG -> new CompletableFuture<>();
      case REJECT ->
          CompletableFuture.completedFuture(new SubmitResult.Rejected(preflightProblems));
      case ACCEPT -> {
        submitted.add(spec);
        rawTexts.add(rawSpecText);
        String id;
        synchronized (this) {
          id = "job-" + nextId++;
        }
        JobView job = JobView.queued(id, spec.name(), 100, spec.cluster().currency());
        jobs.put(id, job);
        List<JobView> run = nextRun;
        if (run != null) {
          nextRun = null;
          script(id, run.stream().map(view -> withId(view, id)).toList());
        }
        yield CompletableFuture.completedFuture(new SubmitResult.Accepted(job));
      }
    };
  }

  @Override
  public CompletionStage<List<JobView>> list() {
    if (mode == Mode.THROW) {
      return CompletableFuture.failedFuture(new IllegalStateException("simulated failure"));
    }
    synchronized (jobs) {
      List<JobView> all = new ArrayList<>(jobs.values());
      Collections.reverse(all);
      return CompletableFuture.completedFuture(all);
    }
  }

  @Override
  public CompletionStage<JobView> get(String jobId) {
    List<JobView> script = scripts.get(jobId);
    if (script != null) {
      synchronized (script) {
        JobView next = script.size() > 1 ? script.remove(0) : script.get(0);
        jobs.put(jobId, next);
        return CompletableFuture.completedFuture(next);
      }
    }
    JobView job = jobs.get(jobId);
    return job == null
        ? CompletableFuture.failedFuture(JobServiceException.notFound(jobId))
        : CompletableFuture.completedFuture(job);
  }

  @Override
  public CompletionStage<JobView> cancel(String jobId) {
    JobView job = jobs.get(jobId);
    if (job == null) {
      return CompletableFuture.failedFuture(JobServiceException.notFound(jobId));
    }
    cancelled.add(jobId);
    if (job.state().isTerminal()) {
      return CompletableFuture.completedFuture(job);
    }
    JobView cancelling =
        new JobView(
            job.id(),
            job.name(),
            JobState.CANCELLED,
            job.epoch(),
            job.step(),
            job.totalSteps(),
            job.loss(),
            null,
            null,
            job.cost(),
            job.cost(),
            job.currency(),
            job.epochs(),
            null);
    jobs.put(jobId, cancelling);
    // the API answers what the service answered: still running while the checkpoint is written
    return CompletableFuture.completedFuture(
        new JobView(
            job.id(),
            job.name(),
            JobState.RUNNING,
            job.epoch(),
            job.step(),
            job.totalSteps(),
            job.loss(),
            null,
            null,
            job.cost(),
            job.cost(),
            job.currency(),
            job.epochs(),
            null));
  }

  private static JobView withId(JobView view, String id) {
    return new JobView(
        id,
        view.name(),
        view.state(),
        view.epoch(),
        view.step(),
        view.totalSteps(),
        view.loss(),
        view.tokensPerSecond(),
        view.etaSeconds(),
        view.cost(),
        view.projectedCost(),
        view.currency(),
        view.epochs(),
        view.error());
  }

  @Override
  public CompletionStage<List<WorkerView>> workers() {
    return CompletableFuture.completedFuture(workers);
  }

  @Override
  public CompletionStage<ScaleView> scale(int replicas) {
    if (!canScale) {
      return CompletableFuture.failedFuture(
          new JobServiceException(
              JobServiceException.Kind.UNAVAILABLE,
              "replicas",
              "this coordinator does not run on Kubernetes; start or stop workers yourself"));
    }
    scaleRequests.add(replicas);
    return CompletableFuture.completedFuture(new ScaleView(replicas, workers.size()));
  }

  @Override
  public CompletionStage<Boolean> ready() {
    return CompletableFuture.completedFuture(ready);
  }
}
