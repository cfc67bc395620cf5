package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.spec.PathPolicy;
import dev.lorafleet.common.spec.SpecPreflight;
import dev.lorafleet.coordinator.api.JobServiceException;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.SubmitResult;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.worker.cluster.CoordinatorInbound;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JobService over the actors: what is refused never reaches the queue or the disk. */
class ActorJobServiceTest {
  @TempDir Path dir;
  private final ActorTestKit kit = ActorTestKit.create();
  private ActorJobService service;

  @BeforeEach
  void start() {
    QuadJobs jobs = new QuadJobs(kit, dir, new InMemoryExchange(), new TestingRawFormat());
    ActorRef<CoordinatorInbound> registry = jobs.startCoordinator("", JobRunner.Timing.defaults());
    ActorRef<JobManager.Command> manager = jobs.manager();
    service =
        new ActorJobService(
            kit.system(),
            manager,
            registry,
            new SpecPreflight(PathPolicy.permissive(), dir),
            dir,
            null);
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  private JobSpec spec(String datasetPath) throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    Files.writeString(model.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"]}");
    return new JobSpecParser()
        .parse("name: t\nmodel: " + model + "\ndatasets: [{path: " + datasetPath + "}]\n");
  }

  @Test
  void refusesSpecWithMissingDatasetAndQueuesNothing() throws Exception {
    SubmitResult result =
        service
            .submit(spec(dir.resolve("nope.jsonl").toString()), "x")
            .toCompletableFuture()
            .join();
    assertThat(result).isInstanceOf(SubmitResult.Rejected.class);
    assertThat(((SubmitResult.Rejected) result).problems())
        .anySatisfy(p -> assertThat(p.field()).isEqualTo("datasets[0].path"));
    assertThat(service.list().toCompletableFuture().join()).isEmpty();
    assertThat(dir.resolve("data/jobs")).doesNotExist();
  }

  @Test
  void acceptsGoodSpecAsQueuedAndWaitsForWorkers() throws Exception {
    Path data = dir.resolve("train.jsonl");
    Files.writeString(data, "{\"instruction\":\"a\",\"output\":\"b\"}\n");
    SubmitResult result =
        service.submit(spec(data.toString()), "raw text").toCompletableFuture().join();
    assertThat(result).isInstanceOf(SubmitResult.Accepted.class);
    String id = ((SubmitResult.Accepted) result).job().id();
    assertThat(service.get(id).toCompletableFuture().join().state())
        .isIn(JobState.QUEUED, JobState.WAITING_FOR_WORKERS);
    try (Stream<Path> jobs = Files.list(dir.resolve("data/jobs"))) {
      assertThat(jobs).hasSize(1);
    }
    assertThat(dir.resolve("data/jobs").resolve(id).resolve("spec.yaml")).hasContent("raw text");
    assertThat(service.cancel(id).toCompletableFuture().join().state())
        .isEqualTo(JobState.CANCELLED);
  }

  @Test
  void unknownJobIsNotFound() {
    assertThatThrownBy(() -> service.get("nope").toCompletableFuture().join())
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOf(JobServiceException.class)
        .hasMessageContaining("nope");
    assertThat(service.workers().toCompletableFuture().join()).isEmpty();
  }
}
