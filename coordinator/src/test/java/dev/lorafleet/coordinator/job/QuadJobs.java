package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.awaitility.Awaitility;

/**
 * What the in-memory job tests share: the quadratic test job ({@code TestingQuadraticCompute}) and
 * its data files, and submitting and watching it through a {@link JobManager}.
 */
final class QuadJobs {
  private final ActorTestKit kit;
  private final Path dir;
  private final Supplier<ActorRef<JobManager.Command>> manager;

  /**
   * @param manager the test's job manager (tests start it, and some restart it, after this is made)
   */
  QuadJobs(ActorTestKit kit, Path dir, Supplier<ActorRef<JobManager.Command>> manager) {
    this.kit = kit;
    this.dir = dir;
    this.manager = manager;
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
    manager.get().tell(new JobManager.Submit(settings, specYaml, probe.getRef()));
    JobManager.Submitted submitted = probe.receiveMessage(Duration.ofSeconds(10));
    assertThat(submitted.error()).isNull();
    return submitted.status();
  }

  JobStatus status(String jobId) {
    TestProbe<Optional<ActorRef<JobRunner.Command>>> runnerProbe = kit.createTestProbe();
    manager.get().tell(new JobManager.GetJob(jobId, runnerProbe.getRef()));
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
