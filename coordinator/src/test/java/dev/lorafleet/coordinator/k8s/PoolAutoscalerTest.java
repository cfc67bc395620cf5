package dev.lorafleet.coordinator.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolAutoscalerTest {
  /** A scaler of our own interface that records what it was asked. */
  static final class TestingWorkerScaler implements WorkerScaler {
    int replicas;
    final List<Integer> requests = new ArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public ScaleResult scale(int to) {
      requests.add(to);
      int from = replicas;
      replicas = to;
      return new ScaleResult.Scaled(from, to, 1);
    }

    @Override
    public ReadinessResult awaitReady(int count, Duration bound) {
      throw new UnsupportedOperationException("not used by the autoscaler");
    }

    @Override
    public WorkerPoolStatus status() {
      return new WorkerPoolStatus(true, "", "ns", "workers", replicas, replicas, 0, List.of());
    }
  }

  static final class SteppedClock extends Clock {
    Instant now = Instant.parse("2026-11-29T10:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void shouldScaleUpForQueuedJobAndReleaseNodesAfterIdleGrace() {
    TestingWorkerScaler scaler = new TestingWorkerScaler();
    SteppedClock clock = new SteppedClock();
    List<JobDemand> jobs = new ArrayList<>();
    ScalingPolicy policy = new ScalingPolicy(0, 8, true, Duration.ofMinutes(10), 1);
    PoolAutoscaler autoscaler = new PoolAutoscaler(scaler, policy, () -> List.copyOf(jobs), clock);

    jobs.add(new JobDemand("j1", "medqa", JobDemand.Phase.QUEUED, 4));
    assertThat(autoscaler.reconcile().replicas()).isEqualTo(4);
    assertThat(scaler.requests).containsExactly(4);

    jobs.set(0, new JobDemand("j1", "medqa", JobDemand.Phase.RUNNING, 4));
    autoscaler.reconcile();
    assertThat(scaler.requests).as("no request while the pool already fits").containsExactly(4);

    jobs.set(0, new JobDemand("j1", "medqa", JobDemand.Phase.FINISHED, 4));
    autoscaler.reconcile();
    clock.now = clock.now.plus(Duration.ofMinutes(9));
    autoscaler.reconcile();
    assertThat(scaler.requests).as("nodes kept during the idle grace").containsExactly(4);

    clock.now = clock.now.plus(Duration.ofMinutes(2));
    assertThat(autoscaler.reconcile().replicas()).isZero();
    assertThat(scaler.requests).containsExactly(4, 0);
  }
}
