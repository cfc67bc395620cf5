package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process frozen with SIGSTOP in the middle of a step: the step watchdog drops it, the
 * step is planned again over the other worker, and the job goes on. Woken with SIGCONT (before the
 * split brain resolver downs it), it finishes the old share and sends that gradient: the data plane
 * drops it (its step and round are over), and the woken worker stays a member of the cluster, idle.
 * Every example is still trained once per epoch.
 */
class StuckWorkerIT {
  private static final int SAMPLES = 45;
  private static final int EPOCHS = 8;
  private static final int STEPS_PER_EPOCH = 6;
  private static final Duration JOB_BOUND = Duration.ofSeconds(90);

  /** The share (from 1) the victim is frozen in: the one of step 6, the first of epoch 2. */
  private static final int FROZEN_SHARE = 7;

  /** The step watchdog: a share not delivered within 3 s is planned again over the others. */
  private static final JobRunner.Timing TIMING =
      new JobRunner.Timing(Duration.ofSeconds(3), Duration.ofSeconds(60), Duration.ofSeconds(30));

  @TempDir Path dir;

  /**
   * Two workers: worker 1 (the victim) creates {@code marker} once inside share {@link
   * #FROZEN_SHARE} and lingers there 2 s; worker 0 is a slow device, so the job outlasts a freeze.
   */
  private static LocalWorkers startVictimAndSlowWorker(FaultCluster cluster, Path marker)
      throws Exception {
    return cluster.workers(
        "a",
        2,
        i ->
            i == 1
                ? List.of("--devices", "1", "--test-slow-share", FROZEN_SHARE + ":2000:" + marker)
                : List.of("--devices", "1", "--test-share-delay-ms", "100"));
  }

  /** Submits a 2-worker job and waits until the victim is inside its share of step 6. */
  private static String submitAndAwaitVictimInStep(FaultCluster cluster, Path marker)
      throws Exception {
    String id = cluster.submit(cluster.spec(2, EPOCHS, 0));
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> Files.exists(marker));
    return id;
  }

  private static void assertEveryExampleOncePerEpoch(FaultCluster cluster, String id, JobView done)
      throws Exception {
    assertThat(done.state()).as(String.valueOf(done.error())).isEqualTo(JobState.SUCCEEDED);
    for (EpochReport epoch : done.epochs()) {
      assertThat(epoch.samples()).as("epoch %d", epoch.epoch()).isEqualTo(SAMPLES);
    }
    assertThat(cluster.steps(id)).doesNotHaveDuplicates().hasSize(EPOCHS * STEPS_PER_EPOCH);
  }

  @Test
  void shouldDropAFrozenWorkerAndIgnoreItsLateGradient() throws Exception {
    Path marker = dir.resolve("victim-in-step");
    try (FaultCluster cluster = FaultCluster.start(dir, TIMING)) {
      LocalWorkers workers = startVictimAndSlowWorker(cluster, marker);
      String id = submitAndAwaitVictimInStep(cluster, marker);
      Process victim = workers.processes().get(1);
      Instant frozenAt = Instant.now();
      FaultCluster.signal(victim, "STOP"); // frozen inside its share of step 6
      long stepAtFreeze = cluster.view(id).step();
      assertThat(stepAtFreeze).isEqualTo(FROZEN_SHARE - 1);

      // the watchdog drops it; the step is planned again over the other worker
      JsonNode dropped = cluster.awaitEvent(id, "worker_dropped", Duration.ofSeconds(30));
      DataPlaneCounters beforeWake = cluster.plane().counters();
      assertThat(cluster.view(id).state())
          .as("the job is still training when the victim wakes")
          .isEqualTo(JobState.RUNNING);
      FaultCluster.signal(victim, "CONT");
      Instant wokenAt = Instant.now();
      // it finishes the old share and sends it: fenced by step and round, it is dropped as stale
      try {
        Awaitility.await()
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () ->
                    cluster.plane().counters().droppedStaleStep() > beforeWake.droppedStaleStep());
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "no late gradient dropped after SIGCONT; counters before "
                + beforeWake
                + ", now "
                + cluster.plane().counters()
                + "; the victim's log ends:\n"
                + FaultCluster.tail(workers.logs().get(1)),
            e);
      }

      JobView done = cluster.awaitTerminal(id, JOB_BOUND);

      assertThat(done.epochs()).hasSize(EPOCHS);
      assertEveryExampleOncePerEpoch(cluster, id, done);
      assertThat(dropped.get("step").asLong()).isEqualTo(stepAtFreeze);
      Instant detectedAt = FaultCluster.time(dropped);
      Instant recoveredAt = FaultCluster.firstStepTime(cluster.events(id), stepAtFreeze);
      // the woken worker was never downed (woken within the resolver's bound): still a member
      assertThat(victim.isAlive()).isTrue();
      assertThat(cluster.members()).extracting(WorkerView::name).contains("local-0", "local-1");

      // the survivor alone reaches the same adapter (float sums in another order: 1e-4 relative)
      double maxRelative = cluster.assertMatchesUndisturbedRun(id, 1, EPOCHS, JOB_BOUND);
      System.out.printf(
          "FAULT sigstop_worker detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=%.3g%n",
          Duration.between(frozenAt, detectedAt).toMillis() / 1e3,
          Duration.between(frozenAt, recoveredAt).toMillis() / 1e3,
          maxRelative);
      System.out.printf(
          "sigstop: frozen %d ms inside step %d; its late gradient was dropped after SIGCONT"
              + " (stale %d -> %d, duplicate %d -> %d)%n",
          Duration.between(frozenAt, wokenAt).toMillis(),
          stepAtFreeze,
          beforeWake.droppedStaleStep(),
          cluster.plane().counters().droppedStaleStep(),
          beforeWake.droppedDuplicate(),
          cluster.plane().counters().droppedDuplicate());
    }
  }

  @Test
  void shouldLetAWorkerFrozenPastTheSplitBrainResolverRejoinWhenWoken() throws Exception {
    Path marker = dir.resolve("victim-in-step");
    try (FaultCluster cluster = FaultCluster.start(dir, TIMING)) {
      LocalWorkers workers = startVictimAndSlowWorker(cluster, marker);
      String id = submitAndAwaitVictimInStep(cluster, marker);
      Process victim = workers.processes().get(1);
      Instant frozenAt = Instant.now();
      FaultCluster.signal(victim, "STOP");
      // frozen past the resolver's bound: the cluster downs it and the registry forgets it
      cluster.awaitMembers(
          Duration.ofSeconds(45), m -> m.stream().noneMatch(w -> w.name().equals("local-1")));
      Instant downedAt = Instant.now();
      DataPlaneCounters beforeWake = cluster.plane().counters();
      FaultCluster.signal(victim, "CONT");
      // it learns it was downed, and its rejoin loop joins the same coordinator again
      try {
        cluster.awaitMembers(
            Duration.ofSeconds(60),
            m ->
                m.stream()
                    .anyMatch(
                        w -> w.name().equals("local-1") && w.state() == WorkerView.State.IDLE));
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "the woken worker did not join again; its log ends:\n"
                + FaultCluster.tail(workers.logs().get(1)),
            e);
      }
      Instant rejoinedAt = Instant.now();
      assertThat(victim.isAlive()).isTrue();

      JobView done = cluster.awaitTerminal(id, JOB_BOUND);
      assertEveryExampleOncePerEpoch(cluster, id, done);
      List<JsonNode> events = cluster.events(id);
      JsonNode dropped =
          FaultCluster.ofType(events, "worker_dropped").stream()
              .findFirst()
              .orElseThrow(() -> new AssertionError("no worker_dropped event"));
      long lostStep = dropped.get("step").asLong();
      Instant recoveredAt = FaultCluster.firstStepTime(events, lostStep);
      System.out.printf(
          "FAULT sigstop_worker_past_resolver detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=n/a%n",
          Duration.between(frozenAt, FaultCluster.time(dropped)).toMillis() / 1e3,
          Duration.between(frozenAt, recoveredAt).toMillis() / 1e3);
      // the rejoined worker trains again: a new job takes both workers and succeeds
      String next = cluster.submit(cluster.spec(2, EPOCHS, 0));
      JobView again = cluster.awaitTerminal(next, JOB_BOUND);
      assertThat(again.state()).as(String.valueOf(again.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(again.epochs()).allSatisfy(e -> assertThat(e.workers()).isEqualTo(2));
      System.out.printf(
          "sigstop past the resolver: downed %.1f s after the freeze, joined again %.1f s after"
              + " SIGCONT; data-plane drops around the wake %d -> %d%n",
          Duration.between(frozenAt, downedAt).toMillis() / 1e3,
          Duration.between(downedAt, rejoinedAt).toMillis() / 1e3,
          beforeWake.dropped(),
          cluster.plane().counters().dropped());
    }
  }
}
