package dev.lorafleet.coordinator.job;

import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.cluster.DatasetStore;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Accepts jobs (already validated), persists each spec under {@code <dataDir>/jobs/<jobId>/},
 * starts one {@link JobRunner} per job and runs them one at a time in submission order (the workers
 * are one shared pool).
 */
public final class JobManager extends AbstractBehavior<JobManager.Command> {

  /** What the job manager accepts. */
  public sealed interface Command
      permits Submit,
          ListJobs,
          GetJob,
          CancelJob,
          ResumeUnfinished,
          JobManager.UnfinishedFound,
          JobManager.SpecPersisted,
          JobManager.RunnerDone {}

  /** Queue a validated job; the reply is its first status (QUEUED) or the persistence error. */
  public record Submit(JobSettings settings, String specYaml, ActorRef<Submitted> replyTo)
      implements Command {}

  /** The answer to {@link Submit}: a status, or why the job could not be stored. */
  public record Submitted(JobStatus status, String error) {}

  /** Every job's runner, oldest first (ask each for its status). */
  public record ListJobs(ActorRef<List<ActorRef<JobRunner.Command>>> replyTo) implements Command {}

  /** The runner of one job, if the id is known. */
  public record GetJob(String jobId, ActorRef<Optional<ActorRef<JobRunner.Command>>> replyTo)
      implements Command {}

  /** Cancel a job: replies with its status after cancelling, or empty for an unknown id. */
  public record CancelJob(String jobId, ActorRef<Optional<JobStatus>> replyTo) implements Command {}

  private record SpecPersisted(
      String jobId, JobSettings settings, ActorRef<Submitted> replyTo, Throwable error)
      implements Command {}

  private record RunnerDone(JobRunner.Finished finished) implements Command {}

  /**
   * Sent once when the coordinator starts: every job under {@code <dataDir>/jobs/} with a {@code
   * spec.yaml} and no terminal {@code finished} event is queued again (oldest first) and resumes
   * from its newest valid checkpoint. {@code settingsOf} turns a stored spec into settings (it
   * throws with a message when the spec no longer validates); the reply lists the job ids queued.
   */
  public record ResumeUnfinished(
      java.util.function.Function<String, JobSettings> settingsOf, ActorRef<List<String>> replyTo)
      implements Command {}

  private record UnfinishedFound(
      Map<String, JobSettings> jobs,
      List<String> problems,
      ActorRef<List<String>> replyTo,
      Throwable error)
      implements Command {}

  /** What every runner shares; {@code fence} guards every write to the data directory. */
  public record Services(
      java.nio.file.Path dataDir,
      ActorRef<CoordinatorInbound> registry,
      DatasetStore datasets,
      GradientExchange exchange,
      CheckpointFormatFactory formats,
      JobRunner.Timing timing,
      Executor blocking,
      Clock clock,
      CoordinatorMetrics metrics,
      FailurePolicy failures,
      dev.lorafleet.coordinator.lease.Fence fence) {

    /**
     * Services with the default {@link FailurePolicy} of a coordinator that owns its data directory
     * outright (no lease).
     */
    public Services(
        java.nio.file.Path dataDir,
        ActorRef<CoordinatorInbound> registry,
        DatasetStore datasets,
        GradientExchange exchange,
        CheckpointFormatFactory formats,
        JobRunner.Timing timing,
        Executor blocking,
        Clock clock,
        CoordinatorMetrics metrics) {
      this(
          dataDir,
          registry,
          datasets,
          exchange,
          formats,
          timing,
          blocking,
          clock,
          metrics,
          FailurePolicy.defaults(),
          dev.lorafleet.coordinator.lease.Fence.NONE);
    }
  }

  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final Services services;
  private final Map<String, ActorRef<JobRunner.Command>> runners = new LinkedHashMap<>();
  private final Deque<String> queue = new ArrayDeque<>();
  private final ActorRef<JobRunner.Finished> finishedAdapter;
  private String running;
  private int counter;

  public static Behavior<Command> create(Services services) {
    return Behaviors.setup(context -> new JobManager(context, services));
  }

  private JobManager(ActorContext<Command> context, Services services) {
    super(context);
    this.services = services;
    this.finishedAdapter = context.messageAdapter(JobRunner.Finished.class, RunnerDone::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(SpecPersisted.class, this::onSpecPersisted)
        .onMessage(ListJobs.class, this::onList)
        .onMessage(GetJob.class, this::onGet)
        .onMessage(CancelJob.class, this::onCancel)
        .onMessage(RunnerDone.class, this::onRunnerDone)
        .onMessage(ResumeUnfinished.class, this::onResumeUnfinished)
        .onMessage(UnfinishedFound.class, this::onUnfinishedFound)
        .build();
  }

  private Behavior<Command> onSubmit(Submit submit) {
    String jobId = newJobId(submit.settings().name());
    JobFiles files = new JobFiles(services.dataDir(), jobId, services.fence());
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(
                () -> {
                  try {
                    files.writeSpec(submit.specYaml());
                    files.appendEvent(
                        services.clock().instant(),
                        "submitted",
                        Map.of("jobId", jobId, "name", submit.settings().name()));
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                },
                services.blocking()),
            (ok, error) -> new SpecPersisted(jobId, submit.settings(), submit.replyTo(), error));
    return this;
  }

  private Behavior<Command> onSpecPersisted(SpecPersisted persisted) {
    if (persisted.error() != null) {
      persisted
          .replyTo()
          .tell(
              new Submitted(
                  null,
                  "cannot store the job under "
                      + services.dataDir().resolve("jobs")
                      + ": "
                      + JobRunner.rootMessage(persisted.error())));
      return this;
    }
    String jobId = persisted.jobId();
    ActorRef<JobRunner.Command> runner = spawnRunner(jobId, persisted.settings());
    runners.put(jobId, runner);
    queue.add(jobId);
    getContext()
        .getLog()
        .info("Job {} ({}) accepted and queued.", jobId, persisted.settings().name());
    JobSettings s = persisted.settings();
    persisted
        .replyTo()
        .tell(
            new Submitted(
                new JobStatus(
                    jobId,
                    s.name(),
                    JobState.QUEUED,
                    0,
                    0,
                    0,
                    Double.NaN,
                    0,
                    0,
                    0,
                    0,
                    s.currency(),
                    List.of(),
                    null),
                null));
    startNext();
    return this;
  }

  private void startNext() {
    if (running == null && !queue.isEmpty()) {
      running = queue.poll();
      runners.get(running).tell(JobRunner.Start.INSTANCE);
    }
  }

  private Behavior<Command> onResumeUnfinished(ResumeUnfinished resume) {
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> findUnfinished(resume), services.blocking()),
            (found, error) ->
                error != null
                    ? new UnfinishedFound(Map.of(), List.of(), resume.replyTo(), error)
                    : found);
    return this;
  }

  /** Runs on the blocking executor: the unfinished jobs on disk, oldest first. */
  private UnfinishedFound findUnfinished(ResumeUnfinished resume) {
    Map<String, JobSettings> jobs = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    java.nio.file.Path root = services.dataDir().resolve("jobs");
    if (!java.nio.file.Files.isDirectory(root)) {
      return new UnfinishedFound(jobs, problems, resume.replyTo(), null);
    }
    List<java.nio.file.Path> dirs = new ArrayList<>();
    try (var list = java.nio.file.Files.list(root)) {
      list.filter(d -> java.nio.file.Files.isRegularFile(d.resolve("spec.yaml")))
          .forEach(dirs::add);
      dirs.sort(
          java.util.Comparator.comparing(
              (java.nio.file.Path d) -> {
                try {
                  return java.nio.file.Files.getLastModifiedTime(d.resolve("spec.yaml"));
                } catch (java.io.IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              }));
      for (java.nio.file.Path dir : dirs) {
        java.nio.file.Path events = dir.resolve("events.jsonl");
        if (java.nio.file.Files.isRegularFile(events)) {
          try (var lines = java.nio.file.Files.lines(events)) {
            if (lines.anyMatch(l -> l.contains("\"type\":\"finished\""))) {
              continue;
            }
          }
        }
        String id = dir.getFileName().toString();
        try {
          jobs.put(
              id,
              resume.settingsOf().apply(java.nio.file.Files.readString(dir.resolve("spec.yaml"))));
        } catch (RuntimeException e) {
          problems.add(
              "job "
                  + id
                  + " cannot resume: its "
                  + dir.resolve("spec.yaml")
                  + " is no longer valid: "
                  + e.getMessage());
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return new UnfinishedFound(jobs, problems, resume.replyTo(), null);
  }

  private Behavior<Command> onUnfinishedFound(UnfinishedFound found) {
    if (found.error() != null) {
      getContext()
          .getLog()
          .error(
              "Cannot look for unfinished jobs under {}: {}",
              services.dataDir().resolve("jobs"),
              JobRunner.rootMessage(found.error()));
      found.replyTo().tell(List.of());
      return this;
    }
    found.problems().forEach(p -> getContext().getLog().error("{}", p));
    List<String> queued = new ArrayList<>();
    found
        .jobs()
        .forEach(
            (jobId, settings) -> {
              if (!runners.containsKey(jobId)) {
                runners.put(jobId, spawnRunner(jobId, settings));
                queue.add(jobId);
                queued.add(jobId);
                getContext()
                    .getLog()
                    .info(
                        "Job {} ({}) did not finish before the coordinator stopped; it is queued"
                            + " to resume from its newest valid checkpoint.",
                        jobId,
                        settings.name());
              }
            });
    found.replyTo().tell(queued);
    startNext();
    return this;
  }

  private ActorRef<JobRunner.Command> spawnRunner(String jobId, JobSettings settings) {
    return getContext()
        .spawn(
            JobRunner.create(
                jobId,
                settings,
                new JobFiles(services.dataDir(), jobId, services.fence()),
                finishedAdapter,
                services.registry(),
                services.datasets(),
                services.exchange(),
                services.formats(),
                services.timing(),
                services.clock(),
                services.metrics(),
                services.failures()),
            "job-" + jobId);
  }

  private Behavior<Command> onRunnerDone(RunnerDone done) {
    String jobId = done.finished().jobId();
    queue.remove(jobId);
    if (jobId.equals(running)) {
      running = null;
    }
    startNext();
    return this;
  }

  private Behavior<Command> onList(ListJobs list) {
    list.replyTo().tell(new ArrayList<>(runners.values()));
    return this;
  }

  private Behavior<Command> onGet(GetJob get) {
    get.replyTo().tell(Optional.ofNullable(runners.get(get.jobId())));
    return this;
  }

  private Behavior<Command> onCancel(CancelJob cancel) {
    ActorRef<JobRunner.Command> runner = runners.get(cancel.jobId());
    if (runner == null) {
      cancel.replyTo().tell(Optional.empty());
      return this;
    }
    ActorRef<JobStatus> reply =
        getContext()
            .spawnAnonymous(
                Behaviors.<JobStatus>receiveMessage(
                    status -> {
                      cancel.replyTo().tell(Optional.of(status));
                      return Behaviors.stopped();
                    }));
    runner.tell(new JobRunner.Cancel(reply));
    return this;
  }

  private String newJobId(String name) {
    String base =
        name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
    if (base.isEmpty()) {
      base = "job";
    }
    if (base.length() > 40) {
      base = base.substring(0, 40);
    }
    String time =
        LocalDateTime.ofInstant(services.clock().instant(), ZoneOffset.UTC).format(ID_TIME);
    return base + "-" + time + "-" + (++counter);
  }
}
