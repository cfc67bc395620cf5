package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.checkpoint.TrainerState;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import dev.lorafleet.worker.cluster.WorkerNode;
import dev.lorafleet.worker.cluster.WorkerSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job runner end to end inside one actor system: real registry, real worker node actors
 * (datasets travel in chunks), an in-memory data plane and a quadratic stand-in for the trainer.
 */
class JobRunnerTest {
  @TempDir Path dir;
  private final ActorTestKit kit = ActorTestKit.create();
  private final InMemoryExchange exchange = new InMemoryExchange();
  private final TestingRawFormat format = new TestingRawFormat();
  private QuadJobs jobs;
  private ActorRef<CoordinatorInbound> registry;
  private ActorRef<JobManager.Command> manager;

  @org.junit.jupiter.api.BeforeEach
  void jobHelpers() {
    jobs = new QuadJobs(kit, dir, exchange, format);
  }

  @AfterEach
  void shutdown() {
    kit.shutdownTestKit();
  }

  private void startCluster(int workers, Duration stepDeadline) {
    startCoordinator("", stepDeadline);
    for (int i = 0; i < workers; i++) {
      jobs.startWorker(i, TestingQuadraticCompute.factory());
    }
  }

  /** The coordinator's side: registry and job manager (a restart spawns new ones). */
  private void startCoordinator(String incarnation, Duration stepDeadline) {
    registry = jobs.startCoordinator(incarnation, QuadJobs.timing(stepDeadline));
    manager = jobs.manager();
  }

  private JobSettings settings(Path train, int workers, int epochs, String model)
      throws IOException {
    return jobs.settings(train, workers, epochs, model, 0);
  }

  private Path writeLines(String name, int n) throws IOException {
    return jobs.writeLines(name, n);
  }

  private JobStatus submit(JobSettings settings, String specYaml) {
    return jobs.submit(settings, specYaml);
  }

  private JobStatus status(String jobId) {
    return jobs.status(jobId);
  }

  private JobStatus awaitTerminal(String jobId) {
    return jobs.awaitTerminal(jobId, Duration.ofSeconds(60));
  }

  @Test
  void trainsEveryExampleOncePerEpochWithFallingLossAndCountsCost() throws IOException {
    startCluster(2, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 37);
    JobStatus queued = submit(settings(train, 2, 3, "/models/tiny"), "name: quad\n");
    assertThat(queued.state()).isEqualTo(JobState.QUEUED);

    JobStatus done = awaitTerminal(queued.id());

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.totalSteps()).isEqualTo(3 * 5);
    assertThat(done.epochs()).hasSize(3);
    for (EpochReport epoch : done.epochs()) {
      assertThat(epoch.samples()).isEqualTo(37);
      assertThat(epoch.cost()).isCloseTo(epoch.gpuHours() * 3.0, within(1e-12));
      assertThat(epoch.gpuHours()).isPositive();
      assertThat(epoch.workers()).isEqualTo(2);
      assertThat(epoch.evalLoss()).containsKey("held-out");
    }
    assertThat(done.epochs().get(1).trainLoss()).isLessThan(done.epochs().get(0).trainLoss());
    assertThat(done.epochs().get(2).trainLoss()).isLessThan(done.epochs().get(1).trainLoss());
    Path jobDir = dir.resolve("data/jobs").resolve(queued.id());
    assertThat(jobDir.resolve("spec.yaml")).hasContent("name: quad\n");
    assertThat(jobDir.resolve("final/params.bin")).exists();
    JobReport report = JobFiles.readReport(jobDir.resolve("report.json"));
    assertThat(report.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(report.epochs()).hasSize(3);
    assertThat(report.totalCost()).isCloseTo(done.cost(), within(1e-9));
    assertThat(Files.readAllLines(jobDir.resolve("events.jsonl")))
        .anyMatch(l -> l.contains("\"type\":\"epoch\""))
        .anyMatch(l -> l.contains("\"state\":\"SUCCEEDED\""));
  }

  @Test
  void oneWorkerAndTwoWorkersReachTheSameAdapter() throws IOException {
    startCluster(2, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 29);
    JobStatus two = awaitTerminal(submit(settings(train, 2, 2, "/m"), "name: quad\n").id());
    JobStatus one = awaitTerminal(submit(settings(train, 1, 2, "/m"), "name: quad\n").id());
    assertThat(two.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(one.state()).isEqualTo(JobState.SUCCEEDED);
    float[] a = format.read(dir.resolve("data/jobs").resolve(two.id()).resolve("final"))[0];
    float[] b = format.read(dir.resolve("data/jobs").resolve(one.id()).resolve("final"))[0];
    for (int i = 0; i < a.length; i++) {
      assertThat(a[i]).isCloseTo(b[i], within(1e-5f));
    }
    assertThat(a)
        .isNotEqualTo(new TestingQuadraticCompute(new int[0], new int[0]).initialAdapter(0));
  }

  @Test
  void missingModelFailsTheJobWithTheWorkersMessage() throws IOException {
    startCluster(1, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 5);
    JobStatus failed =
        awaitTerminal(submit(settings(train, 1, 1, "/missing"), "model: /missing\n").id());
    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.error()).contains("node-0").contains("/missing/config.json");
  }

  @Test
  void cancelWritesAFinalCheckpointThatLoads() throws IOException {
    startCluster(1, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 400);
    JobStatus job = submit(settings(train, 1, 50, "/m"), "name: quad\n");
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> status(job.id()).step() >= 3);
    TestProbe<Optional<JobStatus>> probe = kit.createTestProbe();
    manager.tell(new JobManager.CancelJob(job.id(), probe.getRef()));
    JobStatus cancelled = probe.receiveMessage(Duration.ofSeconds(20)).orElseThrow();
    assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
    Path fin = dir.resolve("data/jobs").resolve(job.id()).resolve("final");
    float[][] vectors = format.read(fin);
    assertThat(vectors[0]).hasSize(TestingQuadraticCompute.LENGTH);
    assertThat(Checkpointer.readState(fin).globalStep()).isEqualTo(cancelled.step());
  }

  @Test
  void silentWorkerIsDroppedAndItsShareRetrainedByTheOthers() throws IOException {
    startCluster(2, Duration.ofMillis(1500));
    // a third worker that announces itself but never computes
    kit.spawn(
        WorkerNode.create(
            new WorkerSettings(
                "w9",
                "node-9",
                1,
                "cpu",
                "127.0.0.1",
                dir.resolve("cache-9"),
                Duration.ofSeconds(1)),
            TestingQuadraticCompute.factory(),
            (endpoints, id) ->
                new dev.lorafleet.worker.cluster.WorkerExchange() {
                  @Override
                  public float[] awaitParameters(String jobId, long step, Duration timeout) {
                    return new float[TestingQuadraticCompute.LENGTH];
                  }

                  @Override
                  public void sendGradient(
                      String jobId,
                      long step,
                      int round,
                      float[] sum,
                      long tokens,
                      double lossSum) {
                    // lost on the way
                  }

                  @Override
                  public void close() {}
                }),
        "worker-9");
    Path train = writeLines("train.jsonl", 20);
    JobStatus done = awaitTerminal(submit(settings(train, 3, 1, "/m"), "name: quad\n").id());
    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs().get(0).samples()).isEqualTo(20);
    assertThat(exchange.sendLog).noneMatch(s -> s.startsWith("w9"));
  }

  @Test
  void restartedCoordinatorResumesTheJobAndEndsBitwiseWhereAnUninterruptedRunEnds()
      throws IOException {
    startCluster(2, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 37);
    JobSettings settings = jobs.settings(train, 2, 3, "/m", 3);
    JobStatus straight = awaitTerminal(submit(settings, "name: quad\n").id());
    assertThat(straight.state()).isEqualTo(JobState.SUCCEEDED);

    exchange.holdFromStep = 8;
    JobStatus job = submit(settings, "name: quad\n");
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> status(job.id()).step() >= 8);
    long stepAtKill = status(job.id()).step();
    assertThat(stepAtKill).as("the coordinator dies during step 8").isEqualTo(8);
    // the coordinator goes away without a word to the workers: no StopJob, no final checkpoint
    kit.stop(manager, Duration.ofSeconds(20));
    kit.stop(registry, Duration.ofSeconds(20));
    exchange.holdFromStep = Long.MAX_VALUE;
    long restarted = System.nanoTime();
    startCoordinator("-2", Duration.ofSeconds(20));
    TestProbe<List<String>> resumed = kit.createTestProbe();
    manager.tell(new JobManager.ResumeUnfinished(text -> settings, resumed.getRef()));
    assertThat(resumed.receiveMessage(Duration.ofSeconds(10))).containsExactly(job.id());

    JobStatus done = awaitTerminal(job.id());
    double recoverySeconds = (System.nanoTime() - restarted) / 1e9;

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs()).hasSize(3);
    assertThat(done.epochs()).allSatisfy(e -> assertThat(e.samples()).isEqualTo(37));
    Path jobs = dir.resolve("data/jobs");
    TrainerState a = Checkpointer.readState(jobs.resolve(straight.id()).resolve("final"));
    TrainerState b = Checkpointer.readState(jobs.resolve(job.id()).resolve("final"));
    // every step's loss, before and after the restart, equals the uninterrupted run's exactly
    assertThat(b.lossHistory()).hasSize(15).isEqualTo(a.lossHistory());
    float[] straightAdapter = format.read(jobs.resolve(straight.id()).resolve("final"))[0];
    float[] resumedAdapter = format.read(jobs.resolve(job.id()).resolve("final"))[0];
    assertThat(resumedAdapter).containsExactly(straightAdapter);
    List<String> events = Files.readAllLines(jobs.resolve(job.id()).resolve("events.jsonl"));
    String resumeLine =
        events.stream().filter(l -> l.contains("\"type\":\"resumed\"")).findFirst().orElseThrow();
    long resumedFrom = Long.parseLong(resumeLine.replaceAll(".*\"step\":(\\d+).*", "$1"));
    assertThat(resumedFrom).isBetween(stepAtKill - 3, stepAtKill);
    System.out.printf(
        "coordinator restart: killed at step %d, resumed from checkpoint step %d (%d step(s)"
            + " recomputed), job finished %.2f s after the restart; final adapter max abs"
            + " difference 0 (bitwise)%n",
        stepAtKill, resumedFrom, stepAtKill - resumedFrom, recoverySeconds);
  }

  @Test
  void nanGradientsAreSkippedAndThreeInARowFailTheJobWithAnUnpoisonedCheckpoint()
      throws IOException {
    startCluster(2, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 37);
    JobStatus failed =
        awaitTerminal(submit(settings(train, 2, 2, "/poisoned"), "name: quad\n").id());

    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.error()).contains("3 steps in a row").contains("NaN or Inf");
    Path jobDir = dir.resolve("data/jobs").resolve(failed.id());
    Path checkpoint = new Checkpointer(jobDir, 2, format).latest().orElseThrow();
    TrainerState saved = Checkpointer.readState(checkpoint);
    assertThat(saved.globalStep()).isEqualTo(3);
    assertThat(saved.skippedSteps()).isEqualTo(3);
    assertThat(saved.optimizerSteps()).isZero();
    float[] params = format.read(checkpoint)[0];
    assertThat(params)
        .containsExactly(new TestingQuadraticCompute(new int[0], new int[0]).initialAdapter(0));
    assertThat(Files.readAllLines(jobDir.resolve("events.jsonl")))
        .filteredOn(l -> l.contains("\"type\":\"step\""))
        .hasSize(3)
        .allMatch(l -> l.contains("\"applied\":false"));
  }

  @Test
  void failedCheckpointWritesAreReportedAndTrainingGoesOn() throws IOException {
    startCluster(2, Duration.ofSeconds(20));
    Path train = writeLines("train.jsonl", 37);
    JobSettings settings = jobs.settings(train, 2, 3, "/m", 2);
    format.failNextWrites(2); // the first two checkpoints hit a full disk

    JobStatus done = awaitTerminal(submit(settings, "name: quad\n").id());

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs()).allSatisfy(e -> assertThat(e.samples()).isEqualTo(37));
    Path jobDir = dir.resolve("data/jobs").resolve(done.id());
    assertThat(Files.readAllLines(jobDir.resolve("events.jsonl")))
        .filteredOn(l -> l.contains("\"type\":\"checkpoint_failed\""))
        .hasSize(2)
        .allMatch(l -> l.contains("disk full"));
    try (var list = Files.list(jobDir.resolve("checkpoints"))) {
      // no half-written directory left behind; the two kept are whole
      assertThat(list.map(p -> p.getFileName().toString()).toList())
          .hasSize(2)
          .allMatch(n -> n.startsWith("step-"));
    }
    assertThat(new Checkpointer(jobDir, 2, format).latestValid().skipped()).isEmpty();
  }
}
