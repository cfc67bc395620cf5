package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.protocol.CoordinatorHello;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.cluster.DatasetStore;
import dev.lorafleet.coordinator.cluster.WorkerRegistry;
import dev.lorafleet.coordinator.lease.Fence;
import dev.lorafleet.coordinator.metrics.CoordinatorMetrics;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import dev.lorafleet.worker.cluster.JobComputeFactory;
import dev.lorafleet.worker.cluster.WorkerExchange;
import dev.lorafleet.worker.cluster.WorkerNode;
import dev.lorafleet.worker.cluster.WorkerSettings;
import dev.lorafleet.worker.metrics.WorkerMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.awaitility.Awaitility;

/**
 * What the in-memory job tests share: a coordinator (registry and job manager) and worker node
 * actors in one actor system over the in-memory data plane, the quadratic test job ({@code
 * TestingQuadraticCompute}) and its data files, and submitting and watching it through the {@link
 * JobManager}.
 */
final class QuadJobs {
  private final ActorTestKit kit;
  private final Path dir;
  private final InMemoryExchange exchange;
  private final TestingRawFormat format;
  private ActorRef<JobManager.Command> manager;

  QuadJobs(ActorTestKit kit, Path dir, InMemoryExchange exchange, TestingRawFormat format) {
    this.kit = kit;
    this.dir = dir;
    this.exchange = exchange;
    this.format = format;
  }

  /**
   * Spawns the coordinator's side as {@code CoordinatorNode} builds it: a worker registry and a job
   * manager over {@code dir/data} (a restart spawns new ones, named after {@code incarnation}).
   *
   * @return the registry
   */
  ActorRef<CoordinatorInbound> startCoordinator(
      String incarnation,
      JobRunner.Timing timing,
      CoordinatorMetrics metrics,
      FailurePolicy policy) {
    DatasetStore store = new DatasetStore();
    ActorRef<CoordinatorInbound> registry =
        kit.spawn(
            WorkerRegistry.create(
                store,
                Executors.newCachedThreadPool(),
                new CoordinatorHello("in-memory", 1),
                metrics,
                policy,
                Clock.systemUTC()),
            "registry" + incarnation);
    manager =
        kit.spawn(
            JobManager.create(
                new JobManager.Services(
                    dir.resolve("data"),
                    registry,
                    store,
                    exchange,
                    (settings, json, length) -> format,
                    timing,
                    Executors.newCachedThreadPool(),
                    Clock.systemUTC(),
                    metrics,
                    policy,
                    Fence.NONE)),
            "jobs" + incarnation);
    return registry;
  }

  /** {@link #startCoordinator} with fresh metrics and the default failure policy. */
  ActorRef<CoordinatorInbound> startCoordinator(String incarnation, JobRunner.Timing timing) {
    return startCoordinator(
        incarnation, timing, CoordinatorMetrics.create(), FailurePolicy.defaults());
  }

  /** Step, prepare and gather deadlines of 20 s each. */
  static JobRunner.Timing timing(Duration stepDeadline) {
    return new JobRunner.Timing(stepDeadline, Duration.ofSeconds(20), Duration.ofSeconds(20));
  }

  /** The job manager of the last {@link #startCoordinator}. */
  ActorRef<JobManager.Command> manager() {
    return manager;
  }

  /**
   * Spawns worker node {@code w<i>} on node {@code node-<i>} (one CPU device, its own cache
   * directory), reporting to {@code metrics}.
   */
  ActorRef<WorkerNode.Command> startWorker(
      int i,
      JobComputeFactory compute,
      WorkerExchange.Factory workerExchange,
      WorkerMetrics metrics) {
    WorkerSettings settings =
        new WorkerSettings(
            "w" + i,
            "node-" + i,
            1,
            "cpu",
            "127.0.0.1",
            dir.resolve("cache-" + i),
            Duration.ofSeconds(10));
    return kit.spawn(
        metrics == null
            ? WorkerNode.create(settings, compute, workerExchange)
            : WorkerNode.create(settings, compute, workerExchange, metrics),
        "worker-" + i);
  }

  /** A worker on the in-memory data plane. */
  ActorRef<WorkerNode.Command> startWorker(int i, JobComputeFactory compute) {
    return startWorker(i, compute, exchange, null);
  }

  /** A JSONL file of {@code n} records {@code {"i": k}} (the quadratic model's examples). */
  Path writeLines(String name, int n) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(
        file,
        IntStream.range(0, n).mapToObj(i -> "{\"i\":" + i + "}").collect(Collectors.joining("\n")));
    return file;
  }

  /** The test job: batch 8, seed 7, constant lr 0.1, an 8-record held-out set, 3 CNY/GPU-h. */
  JobSettings settings(Path train, int workers, int epochs, String model, int checkpointEvery)
      throws IOException {
    return new JobSettings(
        "quad",
        Path.of(model),
        List.of(new JobSettings.TrainSet(train, 1.0)),
        List.of(new JobSettings.EvalSet("held-out", writeLines("eval.jsonl", 8))),
        dev.lorafleet.common.lora.LoraConfig.of(4, 8, 0, "q_proj"),
        epochs,
        0.1,
        "constant",
        0,
        8,
        7,
        0.0,
        0.0,
        workers,
        1,
        3.0,
        "CNY",
        checkpointEvery,
        2);
  }

  JobStatus submit(JobSettings settings, String specYaml) {
    TestProbe<JobManager.Submitted> probe = kit.createTestProbe();
    manager.tell(new JobManager.Submit(settings, specYaml, probe.getRef()));
    JobManager.Submitted submitted = probe.receiveMessage(Duration.ofSeconds(10));
    assertThat(submitted.error()).isNull();
    return submitted.status();
  }

  JobStatus status(String jobId) {
    TestProbe<Optional<ActorRef<JobRunner.Command>>> runnerProbe = kit.createTestProbe();
    manager.tell(new JobManager.GetJob(jobId, runnerProbe.getRef()));
    ActorRef<JobRunner.Command> runner = runnerProbe.receiveMessage().orElseThrow();
    TestProbe<JobStatus> probe = kit.createTestProbe();
    runner.tell(new JobRunner.GetStatus(probe.getRef()));
    return probe.receiveMessage();
  }

  JobStatus awaitTerminal(String jobId, Duration bound) {
    AtomicReference<JobStatus> last = new AtomicReference<>();
    Awaitility.await()
        .atMost(bound)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              last.set(status(jobId));
              return last.get().state().isTerminal();
            });
    return last.get();
  }
}
