package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.job.JobRunner;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole jobs over real worker processes, the real cluster and the real Aeron data plane (with a
 * quadratic stand-in for the trainer): datasets travel to the workers, every example is trained
 * once per epoch, and two worker processes reach the adapter one reaches.
 */
class DistributedRunIT {
  @TempDir Path dir;

  /** Runs the 3-epoch job with a held-out set on {@code workers} workers to its end. */
  private JobView runJob(FaultCluster cluster, int workers) throws Exception {
    String id = cluster.submit(FaultCluster.quadSpec(dir, workers, 3, 0, 4, true));
    return cluster.awaitTerminal(id, Duration.ofSeconds(90));
  }

  @Test
  void twoWorkerProcessesTrainEveryExampleOnceAndMatchOneWorker() throws Exception {
    try (FaultCluster cluster = FaultCluster.start(dir, JobRunner.Timing.defaults())) {
      cluster.workers("a", 2);
      JobView two = runJob(cluster, 2);
      assertThat(two.state()).as(String.valueOf(two.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(two.epochs()).hasSize(3);
      for (EpochReport epoch : two.epochs()) {
        assertThat(epoch.samples()).isEqualTo(45);
        assertThat(epoch.workers()).isEqualTo(2);
        assertThat(epoch.cost()).isCloseTo(epoch.gpuHours() * 2.0, within(1e-12));
        assertThat(epoch.evalLoss().get("held-out")).isNotNull();
      }
      assertThat(two.epochs().get(2).trainLoss()).isLessThan(two.epochs().get(0).trainLoss());

      JobView one = runJob(cluster, 1);
      assertThat(one.state()).as(String.valueOf(one.error())).isEqualTo(JobState.SUCCEEDED);
      assertThat(one.epochs()).allSatisfy(e -> assertThat(e.workers()).isEqualTo(1));

      FaultCluster.assertSameAdapter(
          cluster.finalAdapter(two.id()), cluster.finalAdapter(one.id()));
    }
  }
}
