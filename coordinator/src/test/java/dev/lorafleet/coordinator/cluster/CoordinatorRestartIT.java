package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.coordinator.checkpoint.Checkpointer;
import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import dev.lorafleet.coordinator.checkpoint.TrainerState;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator process killed with SIGKILL mid-job and started again on the same data directory:
 * the job resumes from its newest valid checkpoint, the worker processes join the new incarnation,
 * and every step's loss and the final adapter equal an uninterrupted run's.
 */
class CoordinatorRestartIT {
  private static final String STRAIGHT = "a-straight";
  private static final String KILLED = "b-killed";
  @TempDir Path dir;

  private List<JsonNode> events(String job) throws IOException {
    return FaultCluster.events(dir.resolve("data/jobs").resolve(job));
  }

  private long stepsDone(String job) throws IOException {
    return FaultCluster.ofType(events(job), "step").size();
  }

  private boolean finished(String job) throws IOException {
    return !FaultCluster.ofType(events(job), "finished").isEmpty();
  }

  @Test
  void killedCoordinatorResumesTheJobAndMatchesAnUninterruptedRun() throws Exception {
    Path jobs = dir.resolve("data/jobs");
    // both jobs are on disk before the coordinator starts: it picks them up as unfinished work
    CoordinatorProcess.writeJobs(
        jobs, FaultCluster.quadSpec(dir, 2, 25, 0, 7, false), STRAIGHT, KILLED);
    int port = LocalWorkers.freePort();
    Process first = CoordinatorProcess.start(dir, dir.resolve("data"), port, "coordinator-1");
    Process second = null;
    try (LocalWorkers workers = CoordinatorProcess.workers(dir, port, 2)) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(100))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> stepsDone(KILLED) >= 40);
      CoordinatorProcess.kill(first);
      Instant killedAt = Instant.now();
      long stepAtKill = stepsDone(KILLED);
      assertThat(finished(KILLED)).isFalse();
      assertThat(finished(STRAIGHT)).isTrue();

      second = CoordinatorProcess.start(dir, dir.resolve("data"), port, "coordinator-2");
      Awaitility.await()
          .atMost(Duration.ofSeconds(100))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> finished(KILLED));

      List<JsonNode> events = events(KILLED);
      assertThat(events.get(events.size() - 1).get("state").asText()).isEqualTo("SUCCEEDED");
      JsonNode resumed =
          FaultCluster.ofType(events, "resumed").stream()
              .findFirst()
              .orElseThrow(() -> new AssertionError("no resumed event"));
      assertThat(resumed.get("incarnation").asInt()).isEqualTo(1);
      long resumedFrom = resumed.get("step").asLong();
      assertThat(resumedFrom).isBetween(stepAtKill - 8, stepAtKill);
      Instant resumedAt = FaultCluster.time(resumed);
      Instant firstStepAfter = FaultCluster.lastStepTime(events, resumedFrom);

      TrainerState a = Checkpointer.readState(jobs.resolve(STRAIGHT).resolve("final"));
      TrainerState b = Checkpointer.readState(jobs.resolve(KILLED).resolve("final"));
      assertThat(b.globalStep()).isEqualTo(25 * 6);
      assertThat(b.lossHistory()).hasSize(25 * 6);
      for (int i = 0; i < a.lossHistory().size(); i++) {
        double x = a.lossHistory().get(i).loss();
        double y = b.lossHistory().get(i).loss();
        assertThat(Math.abs(x - y))
            .as("loss of step %d", i)
            .isLessThanOrEqualTo(1e-5 * Math.abs(x));
      }
      TestingRawFormat format = new TestingRawFormat();
      float[] straight = format.read(jobs.resolve(STRAIGHT).resolve("final"))[0];
      float[] killed = format.read(jobs.resolve(KILLED).resolve("final"))[0];
      double maxRelative = 0;
      boolean bitwise = true;
      for (int i = 0; i < straight.length; i++) {
        bitwise &= Float.floatToRawIntBits(straight[i]) == Float.floatToRawIntBits(killed[i]);
        maxRelative =
            Math.max(
                maxRelative,
                Math.abs(straight[i] - killed[i]) / Math.max(1e-12, Math.abs(straight[i])));
      }
      assertThat(maxRelative).isLessThanOrEqualTo(1e-5);
      boolean lossesBitwise = a.lossHistory().equals(b.lossHistory());
      System.out.printf(
          "coordinator kill -9: killed after step %d, resumed from checkpoint step %d (%d step(s)"
              + " recomputed); new incarnation resumed the job %d ms after the kill, first step"
              + " done %d ms after the kill; losses bitwise equal: %s; final adapter bitwise"
              + " equal: %s, max relative difference %.3g%n",
          stepAtKill,
          resumedFrom,
          stepAtKill - resumedFrom,
          Duration.between(killedAt, resumedAt).toMillis(),
          Duration.between(killedAt, firstStepAfter).toMillis(),
          lossesBitwise,
          bitwise,
          maxRelative);
      // steps recomputed from the checkpoint are not lost from the result: none are lost
      System.out.printf(
          "FAULT coordinator_kill9 detect_s=n/a recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.2g (%d step(s) recomputed)%n",
          Duration.between(killedAt, firstStepAfter).toMillis() / 1000.0,
          maxRelative,
          stepAtKill - resumedFrom);
    } finally {
      CoordinatorProcess.kill(first);
      CoordinatorProcess.stop(second);
    }
  }
}
