package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cluster.WorkerRegistry;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import dev.lorafleet.worker.data.BadRecordException;
import dev.lorafleet.worker.metrics.Scrape;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preemption versus real errors, in one actor system (real registry and worker actors, in-memory
 * data plane, quadratic stand-in): a worker's failed step or preparation is retried within the
 * job's error budget, the budget's end fails the job with the first cause, a worker that keeps
 * failing is put aside, and a bad dataset fails the job at once.
 */
class JobErrorBudgetTest {
  @TempDir Path dir;
  private final ActorTestKit kit = ActorTestKit.create();
  private final InMemoryExchange exchange = new InMemoryExchange();
  private final TestingRawFormat format = new TestingRawFormat();
  private final CoordinatorMetrics metrics = CoordinatorMetrics.create();
  private ActorRef<CoordinatorInbound> registry;
  private QuadJobs jobs;

  @org.junit.jupiter.api.BeforeEach
  void jobHelpers() {
    jobs = new QuadJobs(kit, dir, exchange, format);
  }

  @AfterEach
  void shutdown() {
    kit.shutdownTestKit();
  }

  private void startCoordinator(FailurePolicy policy) {
    registry = jobs.startCoordinator("", QuadJobs.timing(Duration.ofSeconds(20)), metrics, policy);
  }

  private void startWorker(int i, JobComputeFactory compute) {
    jobs.startWorker(i, compute);
  }

  private JobSettings settings(Path train, int workers, int epochs) throws IOException {
    return jobs.settings(train, workers, epochs, "/m", 0);
  }

  private Path writeLines(String name, int n) throws IOException {
    return jobs.writeLines(name, n);
  }

  private String submit(JobSettings settings) {
    return jobs.submit(settings, "name: quad\n").id();
  }

  private JobStatus awaitTerminal(String jobId) {
    return jobs.awaitTerminal(jobId, Duration.ofSeconds(60));
  }

  private Scrape scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape());
    return Scrape.parse(out.toString(StandardCharsets.UTF_8));
  }

  private WorkerRegistry.Roster roster() {
    TestProbe<WorkerRegistry.Roster> probe = kit.createTestProbe();
    registry.tell(new WorkerRegistry.GetRoster(probe.getRef()));
    return probe.receiveMessage();
  }

  private List<String> events(String jobId, String type) throws IOException {
    Path file = dir.resolve("data/jobs").resolve(jobId).resolve("events.jsonl");
    return Files.readAllLines(file).stream()
        .filter(l -> l.contains("\"type\":\"" + type + "\""))
        .toList();
  }

  private float[] finalAdapter(String jobId) throws IOException {
    return format.read(dir.resolve("data/jobs").resolve(jobId).resolve("final"))[0];
  }

  @Test
  void shouldRetryAFailedStepAndPutAsideAWorkerThatKeepsFailing() throws IOException {
    startCoordinator(
        FailurePolicy.defaults().withQuarantine(2, Duration.ofMinutes(1), Duration.ofSeconds(4)));
    startWorker(0, TestingQuadraticCompute.factory());
    startWorker(1, FaultyCompute.factory("w1", 2, 0)); // its first two shares crash
    Path train = writeLines("train.jsonl", 37);

    String id = submit(settings(train, 2, 3));
    JobStatus done = awaitTerminal(id);

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    for (EpochReport epoch : done.epochs()) {
      assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(37);
    }
    assertThat(events(id, "worker_error"))
        .hasSize(2)
        .allMatch(l -> l.contains("\"worker\":\"w1\""))
        .allMatch(l -> l.contains("injected crash in the model's forward pass"));
    assertThat(events(id, "worker_quarantined"))
        .singleElement()
        .satisfies(l -> assertThat(l).contains("\"worker\":\"w1\""));
    // every step trained once: the failed rounds left no step event behind
    List<String> steps = events(id, "step");
    assertThat(steps).hasSize(15);
    // a worker-count-independent sum: the run ends where a one-worker run ends
    String reference = submit(settings(train, 1, 3));
    assertThat(awaitTerminal(reference).state()).isEqualTo(JobState.SUCCEEDED);
    float[] a = finalAdapter(id);
    float[] b = finalAdapter(reference);
    for (int i = 0; i < a.length; i++) {
      assertThat(a[i]).isCloseTo(b[i], within(1e-5f));
    }
    Scrape scrape = scrape();
    assertThat(scrape.value("lorafleet_worker_errors_total", Map.of())).isEqualTo(2);
    assertThat(scrape.value("lorafleet_worker_quarantines_total", Map.of())).isEqualTo(1);
    // the quarantine ends on its own and the worker may take work again
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> roster().quarantined().isEmpty() && roster().live().size() == 2);
  }

  @Test
  void shouldShowAQuarantinedWorkerInTheRosterWhileItIsAside() throws IOException {
    startCoordinator(
        FailurePolicy.defaults().withQuarantine(1, Duration.ofMinutes(1), Duration.ofMinutes(5)));
    startWorker(0, TestingQuadraticCompute.factory());
    startWorker(1, FaultyCompute.factory("w1", 1, 0));
    Path train = writeLines("train.jsonl", 21);

    JobStatus done = awaitTerminal(submit(settings(train, 2, 1)));

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs().get(0).samples()).isEqualTo(21);
    WorkerRegistry.Roster roster = roster();
    assertThat(roster.live()).extracting(w -> w.id()).containsExactly("w0");
    assertThat(roster.quarantined())
        .singleElement()
        .satisfies(
            q -> {
              assertThat(q.worker().id()).isEqualTo("w1");
              assertThat(q.cause()).contains("injected crash");
            });
    assertThat(scrape().value("lorafleet_workers", Map.of("state", "quarantined"))).isEqualTo(1);
    // a new job does not get the quarantined worker: it trains on w0 alone
    JobStatus next = awaitTerminal(submit(settings(train, 1, 1)));
    assertThat(next.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(next.epochs().get(0).workers()).isEqualTo(1);
  }

  @Test
  void shouldFailWithTheFirstCauseOnceTheErrorBudgetIsSpent() throws IOException {
    // no quarantine in reach: both workers crash on every share
    startCoordinator(
        FailurePolicy.defaults()
            .withJobErrorBudget(2)
            .withQuarantine(100, Duration.ofMinutes(1), Duration.ofMinutes(1)));
    startWorker(0, FaultyCompute.factory("w0", 1000, 0));
    startWorker(1, FaultyCompute.factory("w1", 1000, 0));
    Path train = writeLines("train.jsonl", 16);

    String id = submit(settings(train, 2, 1));
    JobStatus failed = awaitTerminal(id);

    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.error())
        .startsWith("3 errors from workers, more than the job's error budget of 2")
        .contains("the first: worker w")
        .contains("failed step 0")
        .contains("injected crash");
    assertThat(events(id, "worker_error")).hasSize(3);
    assertThat(events(id, "step")).isEmpty();
  }

  @Test
  void shouldRetryAPreparationThatFailedOnTheNode() throws IOException {
    startCoordinator(FailurePolicy.defaults());
    startWorker(0, TestingQuadraticCompute.factory());
    startWorker(1, FaultyCompute.factory("w1", 0, 1)); // its first preparation hits a full disk
    Path train = writeLines("train.jsonl", 19);

    String id = submit(settings(train, 2, 1));
    JobStatus done = awaitTerminal(id);

    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.epochs().get(0).samples()).isEqualTo(19);
    assertThat(done.epochs().get(0).workers()).isEqualTo(2);
    assertThat(events(id, "worker_error"))
        .singleElement()
        .satisfies(l -> assertThat(l).contains("no space left on device"));
  }

  @Test
  void shouldFailAtOnceOnABadDatasetLineWithoutSpendingTheBudget() throws IOException {
    startCoordinator(FailurePolicy.defaults());
    JobComputeFactory badData =
        (spec, model, train, eval, devices) -> {
          throw new BadRecordException(Path.of("train.jsonl"), 3, "not a JSON object");
        };
    startWorker(0, badData);
    startWorker(1, badData);
    Path train = writeLines("train.jsonl", 8);

    String id = submit(settings(train, 2, 1));
    JobStatus failed = awaitTerminal(id);

    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.error()).contains("train.jsonl:3: not a JSON object");
    assertThat(events(id, "worker_error")).isEmpty();
    assertThat(roster().quarantined()).isEmpty();
  }
}
