package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.lease.StateDirLease;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Never two coordinators on one state directory, with real processes: a second coordinator started
 * on the data directory of a running one refuses (exit 3, the holder named) and leaves its job
 * alone; once the first is killed with SIGKILL a third takes the directory over with a higher
 * fencing token, resumes the job, and its checkpoints carry the new token. The final adapter equals
 * an uninterrupted run's.
 */
class TwoCoordinatorsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String STRAIGHT = "a-straight";
  private static final String KILLED = "b-killed";

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private Path data() {
    return dir.resolve("data");
  }

  private String spec() throws IOException {
    // 100 ms a share: 120 steps take ~12 s, so the job is still running while the second
    // coordinator is refused (on a quiet machine an unthrottled job finished before that)
    return FaultCluster.quadSpec(dir, 2, 20, 100, 7, false);
  }

  private Process startCoordinator(int clusterPort, String name) throws IOException {
    return CoordinatorProcess.start(dir, data(), clusterPort, name);
  }

  private List<JsonNode> events(String job) throws IOException {
    return FaultCluster.events(data().resolve("jobs").resolve(job));
  }

  private long count(String job, String type) throws IOException {
    return FaultCluster.ofType(events(job), type).size();
  }

  private JsonNode leaseRecord() throws IOException {
    return JSON.readTree(data().resolve(StateDirLease.LEASE_FILE).toFile());
  }

  private static long fencingToken(Path checkpoint) throws IOException {
    return JSON.readTree(checkpoint.resolve(Checkpointer.MANIFEST).toFile())
        .path("fencingToken")
        .asLong(-1);
  }

  @Test
  void secondCoordinatorIsRefusedAndATakeOverAfterAKillResumesWithAHigherToken() throws Exception {
    Path jobs = data().resolve("jobs");
    CoordinatorProcess.writeJobs(jobs, spec(), STRAIGHT, KILLED);
    int port = LocalWorkers.freePort();
    Process first = startCoordinator(port, "coordinator-1");
    Process second = null;
    Process third = null;
    try (LocalWorkers workers = CoordinatorProcess.workers(dir, port, 2)) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(100))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> count(KILLED, "step") >= 30);
      assertThat(leaseRecord().get("token").asLong()).isEqualTo(1);
      assertThat(leaseRecord().get("pid").asLong()).isEqualTo(first.pid());

      // a second coordinator on the same data directory (its own ports): refused, holder named
      Instant secondStarted = Instant.now();
      second = startCoordinator(LocalWorkers.freePort(), "coordinator-2");
      assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("the second coordinator exits").isTrue();
      Duration detect = Duration.between(secondStarted, Instant.now());
      assertThat(second.exitValue()).isEqualTo(3);
      String refusal = Files.readString(dir.resolve("coordinator-2.log"));
      assertThat(refusal)
          .contains("lorafleet coordinator: the state directory " + data().toAbsolutePath())
          .contains("is in use by coordinator pid " + first.pid())
          .contains("fencing token 1")
          .contains("--lease-wait");

      // the first one's job is unharmed: same holder, no resume, and it keeps training
      long stepsAfterRefusal = count(KILLED, "step");
      // (bounds are generous: CI machines with two cores run several of these at once)
      Awaitility.await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> count(KILLED, "step") >= stepsAfterRefusal + 3);
      assertThat(first.isAlive()).isTrue();
      assertThat(leaseRecord().get("pid").asLong()).isEqualTo(first.pid());
      assertThat(leaseRecord().get("token").asLong()).isEqualTo(1);
      assertThat(count(KILLED, "resumed")).isZero();
      assertThat(count(KILLED, "finished")).isZero();

      // kill -9 the holder: a new coordinator takes over with token 2 and resumes the job
      CoordinatorProcess.kill(first);
      Instant killedAt = Instant.now();
      long stepAtKill = count(KILLED, "step");
      third = startCoordinator(port, "coordinator-3");
      Awaitility.await()
          .atMost(Duration.ofSeconds(180))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> count(KILLED, "finished") > 0);

      assertThat(leaseRecord().get("token").asLong()).isEqualTo(2);
      assertThat(leaseRecord().get("pid").asLong()).isEqualTo(third.pid());
      assertThat(Files.readString(dir.resolve("coordinator-3.log")))
          .contains("Took over the state directory")
          .contains("coordinator pid " + first.pid());
      List<JsonNode> events = events(KILLED);
      assertThat(events.get(events.size() - 1).get("state").asText()).isEqualTo("SUCCEEDED");
      JsonNode resumed =
          FaultCluster.ofType(events, "resumed").stream()
              .findFirst()
              .orElseThrow(() -> new AssertionError("no resumed event"));
      long resumedFrom = resumed.get("step").asLong();
      assertThat(resumedFrom).isBetween(stepAtKill - 8, stepAtKill);
      Instant firstStepAfter = FaultCluster.lastStepTime(events, resumedFrom);

      // checkpoints carry the token they were written under: the new holder's is 2
      Path killedJob = jobs.resolve(KILLED);
      assertThat(fencingToken(killedJob.resolve("final"))).isEqualTo(2);
      try (Stream<Path> steps = Files.list(killedJob.resolve("checkpoints"))) {
        assertThat(steps.filter(p -> p.getFileName().toString().startsWith("step-")).toList())
            .isNotEmpty()
            .allSatisfy(p -> assertThat(fencingToken(p)).as("token of %s", p).isEqualTo(2));
      }
      assertThat(fencingToken(jobs.resolve(STRAIGHT).resolve("final"))).isEqualTo(1);

      TestingRawFormat format = new TestingRawFormat();
      float[] straight = format.read(jobs.resolve(STRAIGHT).resolve("final"))[0];
      float[] killed = format.read(killedJob.resolve("final"))[0];
      double maxRelative = 0;
      for (int i = 0; i < straight.length; i++) {
        maxRelative =
            Math.max(
                maxRelative,
                Math.abs(straight[i] - killed[i]) / Math.max(1e-12, Math.abs(straight[i])));
      }
      assertThat(maxRelative).isLessThanOrEqualTo(1e-5);
      System.out.printf(
          "FAULT two-coordinators detect_s=%.2f recover_s=%.2f steps_lost=%d"
              + " adapter_max_rel_diff=%.3g%n",
          detect.toMillis() / 1000.0,
          Duration.between(killedAt, firstStepAfter).toMillis() / 1000.0,
          stepAtKill - resumedFrom,
          maxRelative);
    } finally {
      CoordinatorProcess.kill(first);
      CoordinatorProcess.kill(second);
      CoordinatorProcess.stop(third);
    }
  }

  @Test
  void coordinatorThatLosesItsLeaseStopsWritingAndExitsWithCode4() throws Exception {
    Path job = Files.createDirectories(data().resolve("jobs").resolve(KILLED));
    Files.writeString(job.resolve("spec.yaml"), spec());
    Process coordinator = startCoordinator(LocalWorkers.freePort(), "coordinator-lost");
    try {
      // it resumes the job (no workers: it waits for them) and writes its state events
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> count(KILLED, "state") > 0);
      assertThat(leaseRecord().get("pid").asLong()).isEqualTo(coordinator.pid());

      // its lock file is deleted and another coordinator (this test) takes the directory over
      Files.delete(data().resolve(StateDirLease.LOCK_FILE));
      try (StateDirLease newer = StateDirLease.acquire(data())) {
        assertThat(newer.token()).isEqualTo(2);
        long eventsAtTakeOver = events(KILLED).size();
        assertThat(coordinator.waitFor(60, TimeUnit.SECONDS)).as("it stops").isTrue();
        assertThat(coordinator.exitValue()).isEqualTo(4);
        assertThat(Files.readString(dir.resolve("coordinator-lost.log")))
            .contains("lost its lease")
            .contains("lorafleet coordinator: stopped because another coordinator took over");
        // it wrote nothing after the take-over: not an event, not a release over our record
        assertThat(events(KILLED)).hasSize((int) eventsAtTakeOver);
        newer.verify();
        assertThat(leaseRecord().get("token").asLong()).isEqualTo(2);
        assertThat(leaseRecord().has("released")).isFalse();
      }
    } finally {
      CoordinatorProcess.kill(coordinator);
    }
  }
}
