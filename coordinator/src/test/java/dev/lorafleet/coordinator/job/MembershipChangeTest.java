package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.worker.cluster.WorkerExchange;
import dev.lorafleet.worker.cluster.WorkerNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a running job follows its workers coming and going, inside one actor system (real registry
 * and worker node actors, in-memory data plane, quadratic stand-in trainer): a lost worker's share
 * is planned again at once, not after the step deadline.
 */
class MembershipChangeTest {
  /** Far beyond every bound below: a test that passes never waited for it. */
  private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);

  @TempDir Path dir;
  private final ActorTestKit kit = ActorTestKit.create();
  private final InMemoryExchange exchange = new InMemoryExchange();
  private final TestingRawFormat format = new TestingRawFormat();
  private QuadJobs jobs;

  @org.junit.jupiter.api.BeforeEach
  void jobHelpers() {
    jobs = new QuadJobs(kit, dir, exchange, format);
  }

  @AfterEach
  void shutdown() {
    kit.shutdownTestKit();
  }

  private void startCoordinator() {
    startCoordinator(JobRunner.Timing.DEFAULT_PAUSE_AFTER);
  }

  private void startCoordinator(Duration pauseAfter) {
    jobs.startCoordinator(
        "",
        new JobRunner.Timing(
            STEP_DEADLINE, Duration.ofSeconds(20), Duration.ofSeconds(20), pauseAfter));
  }

  private ActorRef<WorkerNode.Command> startWorker(int i, WorkerExchange.Factory exchange) {
    return jobs.startWorker(i, TestingQuadraticCompute.factory(), exchange, null);
  }

  private JobSettings settings(Path train, int workers, int epochs) throws IOException {
    return jobs.settings(train, workers, epochs, "/m", 0);
  }

  private Path writeLines(String name, int n) throws IOException {
    return jobs.writeLines(name, n);
  }

  private JobStatus submit(JobSettings settings) {
    return jobs.submit(settings, "name: quad\n");
  }

  private JobStatus status(String jobId) {
    return jobs.status(jobId);
  }

  private JobStatus awaitTerminal(String jobId, Duration bound) {
    return jobs.awaitTerminal(jobId, bound);
  }

  private List<String> events(String jobId) throws IOException {
    return Files.readAllLines(dir.resolve("data/jobs").resolve(jobId).resolve("events.jsonl"));
  }

  /** What a test's worker data plane does with the gradient of {@code step}. */
  private interface SendPolicy {
    /**
     * @param send the real send, to run or not
     */
    void onSend(long step, Runnable send);
  }

  /** The in-memory data plane, its gradient sends going through {@code policy}. */
  private WorkerExchange.Factory sendingVia(SendPolicy policy) {
    return (endpoints, id) -> {
      WorkerExchange real = exchange.connect(endpoints, id);
      return new WorkerExchange() {
        @Override
        public float[] awaitParameters(String jobId, long step, Duration timeout) {
          return real.awaitParameters(jobId, step, timeout);
        }

        @Override
        public void sendGradient(
            String jobId, long step, int round, float[] sum, long tokens, double lossSum) {
          policy.onSend(step, () -> real.sendGradient(jobId, step, round, sum, tokens, lossSum));
        }

        @Override
        public void close() {}
      };
    };
  }

  /** A worker's data plane that loses every gradient from {@code fromStep} on (a dying node). */
  private WorkerExchange.Factory losingFrom(long fromStep, CountDownLatch reached) {
    return sendingVia(
        (step, send) -> {
          if (step < fromStep) {
            send.run();
          } else {
            reached.countDown();
          }
        });
  }

  /** A worker's data plane that holds its gradient of {@code step} until {@code gate} opens. */
  private WorkerExchange.Factory heldAt(long step, CountDownLatch gate) {
    return sendingVia(
        (s, send) -> {
          if (s == step) {
            try {
              gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          send.run();
        });
  }

  @Test
  void shouldGiveAWorkerThatJoinsMidRunTheJobAndAShareFromTheNextStep() throws Exception {
    startCoordinator();
    CountDownLatch gate = new CountDownLatch(1);
    startWorker(0, heldAt(3, gate));
    CountDownLatch reached = new CountDownLatch(1);
    ActorRef<WorkerNode.Command> victim = startWorker(1, losingFrom(3, reached));
    Path train = writeLines("train.jsonl", 20);
    JobStatus job = submit(settings(train, 2, 3));
    assertThat(reached.await(30, TimeUnit.SECONDS)).isTrue();
    kit.stop(victim); // step 3 now waits for w0 alone, which is held at the gate

    startWorker(3, exchange);
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> events(job.id()).stream().anyMatch(l -> l.contains("\"worker_joined\"")));
    gate.countDown();
    JobStatus done = awaitTerminal(job.id(), Duration.ofSeconds(30));

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs()).extracting(EpochReport::samples).containsExactly(20L, 20L, 20L);
    assertThat(done.epochs().get(2).workers()).isEqualTo(2);
    // the joiner trained a share of step 4 (the first planned after it was ready), none before
    assertThat(exchange.sendLog).contains("w3@4/0").noneMatch(l -> l.matches("w3@[0-3]/.*"));
    List<String> events = events(job.id());
    assertThat(events)
        .filteredOn(l -> l.contains("\"type\":\"worker_joined\""))
        .singleElement()
        .matches(l -> l.contains("w3") && l.contains("\"step\":3"));
    assertThat(events.stream().filter(l -> l.contains("\"type\":\"step\"")).count())
        .isEqualTo(done.totalSteps());
  }

  @Test
  void shouldPauseAJobWithoutWorkersAndGoOnFromTheSameStepWhenOneJoins() throws Exception {
    startCoordinator(Duration.ofMillis(300));
    CountDownLatch reached = new CountDownLatch(1);
    ActorRef<WorkerNode.Command> only = startWorker(0, losingFrom(3, reached));
    Path train = writeLines("train.jsonl", 20);
    JobStatus job = submit(settings(train, 1, 2));
    assertThat(reached.await(30, TimeUnit.SECONDS)).isTrue();
    kit.stop(only); // the job's only worker is gone in the middle of step 3

    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> status(job.id()).state() == JobState.PAUSED);
    assertThat(status(job.id()).step()).isEqualTo(3);
    Path checkpoint = dir.resolve("data/jobs").resolve(job.id()).resolve("checkpoints");
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> Files.isDirectory(checkpoint.resolve("step-00000003")));
    startWorker(1, exchange);
    JobStatus done = awaitTerminal(job.id(), Duration.ofSeconds(30));

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs()).extracting(EpochReport::samples).containsExactly(20L, 20L);
    // the new worker trained step 3 again (in a new round): nothing skipped
    assertThat(exchange.sendLog).anyMatch(l -> l.startsWith("w1@3/"));
    assertThat(events(job.id()))
        .anyMatch(l -> l.contains("\"type\":\"paused\""))
        .anyMatch(l -> l.contains("\"type\":\"resumed_with_workers\"") && l.contains("\"step\":3"))
        .noneMatch(l -> l.contains("\"state\":\"FAILED\""));
  }

  @Test
  void shouldReplanTheStepAtOnceWhenAWorkerLeavesTheCluster() throws Exception {
    startCoordinator();
    startWorker(0, exchange);
    startWorker(1, exchange);
    CountDownLatch reached = new CountDownLatch(1);
    ActorRef<WorkerNode.Command> victim = startWorker(2, losingFrom(3, reached));
    Path train = writeLines("train.jsonl", 20);
    JobStatus job = submit(settings(train, 3, 2));

    assertThat(reached.await(30, TimeUnit.SECONDS)).isTrue();
    long stoppedAt = System.nanoTime();
    kit.stop(victim); // leaves the cluster while step 3 waits for its gradient
    JobStatus done = awaitTerminal(job.id(), Duration.ofSeconds(30));
    Duration recovered = Duration.ofNanos(System.nanoTime() - stoppedAt);

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(recovered).isLessThan(STEP_DEADLINE.dividedBy(4));
    assertThat(done.epochs()).extracting(EpochReport::samples).containsExactly(20L, 20L);
    List<String> events = events(job.id());
    assertThat(events)
        .filteredOn(l -> l.contains("\"type\":\"step_replanned\""))
        .hasSize(1)
        .allMatch(l -> l.contains("\"step\":3") && l.contains("w2"));
    assertThat(events.stream().filter(l -> l.contains("\"type\":\"step\"")).count())
        .isEqualTo(done.totalSteps());
  }
}
