package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.JobDemand.Phase.FINISHED;
import static dev.lorafleet.coordinator.k8s.JobDemand.Phase.PAUSED;
import static dev.lorafleet.coordinator.k8s.JobDemand.Phase.QUEUED;
import static dev.lorafleet.coordinator.k8s.JobDemand.Phase.RUNNING;
import static dev.lorafleet.coordinator.k8s.JobDemand.Phase.WAITING_FOR_WORKERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How many workers the jobs need: pure, no server. */
class ReplicaPlannerTest {
  private static final ScalingPolicy ONE_AT_A_TIME =
      new ScalingPolicy(0, 16, true, Duration.ofMinutes(10), 1);

  private static JobDemand job(String id, JobDemand.Phase phase, int workers) {
    return new JobDemand(id, id + "-lora", phase, workers);
  }

  @Test
  void runningJobGetsItsWorkers() {
    ReplicaDecision decision =
        ReplicaPlanner.plan(List.of(job("a", RUNNING, 4)), 0, Duration.ZERO, ONE_AT_A_TIME);
    assertThat(decision.replicas()).isEqualTo(4);
    assertThat(decision.servedJobIds()).containsExactly("a");
    assertThat(decision.reason()).isEqualTo("job a-lora (running, 4 workers)");
  }

  @Test
  void queuedJobsWaitForTheRunningOneWithOneSlot() {
    List<JobDemand> jobs =
        List.of(job("done", FINISHED, 8), job("a", RUNNING, 2), job("b", QUEUED, 8));
    ReplicaDecision decision = ReplicaPlanner.plan(jobs, 2, Duration.ZERO, ONE_AT_A_TIME);
    // no nodes are rented ahead for b while a trains
    assertThat(decision.replicas()).isEqualTo(2);
    assertThat(decision.servedJobIds()).containsExactly("a");
  }

  @Test
  void headOfTheQueueGetsWorkersWhenNothingRuns() {
    List<JobDemand> jobs =
        List.of(job("a", succeeded(), 4), job("b", QUEUED, 3), job("c", QUEUED, 8));
    ReplicaDecision decision = ReplicaPlanner.plan(jobs, 4, Duration.ZERO, ONE_AT_A_TIME);
    assertThat(decision.replicas()).isEqualTo(3);
    assertThat(decision.servedJobIds()).containsExactly("b");
    assertThat(decision.reason()).contains("job b-lora (next in queue, 3 workers)");
  }

  private static JobDemand.Phase succeeded() {
    return JobDemand.Phase.ofState("SUCCEEDED");
  }

  @Test
  void concurrentJobsAddUpInSubmissionOrder() {
    ScalingPolicy twoAtATime = new ScalingPolicy(0, 16, true, Duration.ofMinutes(10), 2);
    List<JobDemand> jobs =
        List.of(job("a", WAITING_FOR_WORKERS, 4), job("b", QUEUED, 2), job("c", QUEUED, 8));
    ReplicaDecision decision = ReplicaPlanner.plan(jobs, 0, Duration.ZERO, twoAtATime);
    assertThat(decision.replicas()).isEqualTo(6);
    assertThat(decision.servedJobIds()).containsExactly("a", "b");
  }

  @Test
  void aJobPausedForLackOfWorkersAsksForThemBack() {
    ReplicaDecision decision =
        ReplicaPlanner.plan(List.of(job("a", PAUSED, 4)), 0, Duration.ofMinutes(11), ONE_AT_A_TIME);
    assertThat(decision.replicas()).isEqualTo(4);
    assertThat(decision.servedJobIds()).containsExactly("a");
  }

  @Test
  void demandAboveTheMaximumIsCappedAndSaysSo() {
    ScalingPolicy capped = new ScalingPolicy(0, 3, true, Duration.ofMinutes(10), 1);
    ReplicaDecision decision =
        ReplicaPlanner.plan(List.of(job("a", RUNNING, 8)), 0, Duration.ZERO, capped);
    assertThat(decision.replicas()).isEqualTo(3);
    assertThat(decision.capped()).isTrue();
    assertThat(decision.reason()).contains("want 8 workers").contains("maximum of 3");
  }

  @Test
  void demandBelowTheMinimumIsRaisedToIt() {
    ScalingPolicy warm = new ScalingPolicy(2, 16, true, Duration.ofMinutes(10), 1);
    ReplicaDecision decision =
        ReplicaPlanner.plan(List.of(job("a", RUNNING, 1)), 0, Duration.ZERO, warm);
    assertThat(decision.replicas()).isEqualTo(2);
    assertThat(decision.capped()).isFalse();
  }

  @Test
  void idlePoolIsKeptDuringTheGraceThenReleased() {
    List<JobDemand> none = List.of(job("a", FINISHED, 4));
    ReplicaDecision early = ReplicaPlanner.plan(none, 4, Duration.ofMinutes(3), ONE_AT_A_TIME);
    assertThat(early.replicas()).isEqualTo(4);
    assertThat(early.reason()).contains("keeping 4 for 7m more");

    ReplicaDecision late = ReplicaPlanner.plan(none, 4, Duration.ofMinutes(10), ONE_AT_A_TIME);
    assertThat(late.replicas()).isZero();
    assertThat(late.reason()).contains("releasing every worker node");
  }

  @Test
  void withoutScaleToZeroAnIdlePoolKeepsItsNodesWithinTheLimits() {
    ScalingPolicy keep = new ScalingPolicy(1, 4, false, Duration.ZERO, 1);
    assertThat(ReplicaPlanner.plan(List.of(), 3, Duration.ofDays(1), keep).replicas()).isEqualTo(3);
    assertThat(ReplicaPlanner.plan(List.of(), 0, Duration.ofDays(1), keep).replicas()).isEqualTo(1);
    assertThat(ReplicaPlanner.plan(List.of(), 9, Duration.ofDays(1), keep).replicas()).isEqualTo(4);
  }

  @Test
  void everyApiStateMapsToAPhase() {
    assertThat(
            List.of(
                    "QUEUED",
                    "WAITING_FOR_WORKERS",
                    "RUNNING",
                    "PAUSED",
                    "SUCCEEDED",
                    "FAILED",
                    "CANCELLED")
                .stream()
                .map(JobDemand.Phase::ofState))
        .containsExactly(
            QUEUED, WAITING_FOR_WORKERS, RUNNING, PAUSED, FINISHED, FINISHED, FINISHED);
    assertThatThrownBy(() -> JobDemand.Phase.ofState("DONE")).hasMessageContaining("DONE");
  }

  @Test
  void refusesImpossiblePoliciesAndDemands() {
    assertThatThrownBy(() -> new ScalingPolicy(5, 2, true, Duration.ZERO, 1))
        .hasMessageContaining("maxWorkers");
    assertThatThrownBy(() -> new ScalingPolicy(0, 2, true, Duration.ZERO, 0))
        .hasMessageContaining("maxConcurrentJobs");
    assertThatThrownBy(() -> job("a", RUNNING, 0)).hasMessageContaining("cluster.workers");
  }
}
