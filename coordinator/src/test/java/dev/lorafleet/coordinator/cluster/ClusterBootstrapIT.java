package dev.lorafleet.coordinator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.api.WorkerView;
import dev.lorafleet.coordinator.cli.Main;
import dev.lorafleet.coordinator.job.GradientExchange;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real worker JVMs join the coordinator's cluster, announce themselves through the Receptionist and
 * our Kryo serializer (actor references included), and a killed one is noticed and removed.
 */
class ClusterBootstrapIT {
  @TempDir Path dir;

  /** No data plane: this test is about the control plane only. */
  private static final class NoDataPlane implements GradientExchange {
    @Override
    public String endpoints() {
      return "udp:127.0.0.1:9,127.0.0.1:9";
    }

    @Override
    public CompletableFuture<Gathered> gather(
        String jobId, long step, int round, Collection<String> ids, int length, Duration d) {
      return new CompletableFuture<>();
    }

    @Override
    public CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void endJob(String jobId) {}
  }

  private List<WorkerView> workers(CoordinatorNode node) {
    return node.service().workers().toCompletableFuture().join();
  }

  @Test
  void workerProcessesJoinAnnounceTheirDevicesAndAreRemovedWhenKilled() throws Exception {
    int port = LocalWorkers.freePort();
    try (CoordinatorNode node =
            CoordinatorNode.start(
                CoordinatorNode.Settings.defaults("127.0.0.1", port, dir.resolve("data")),
                new NoDataPlane(),
                null);
        LocalWorkers workers =
            LocalWorkers.start(
                2,
                port,
                Main.class.getName(),
                dir.resolve("logs"),
                dir.resolve("cache"),
                List.of("--devices", "2"))) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> workers(node).size() == 2);
      assertThat(workers(node))
          .extracting(WorkerView::name)
          .containsExactlyInAnyOrder("local-0", "local-1");
      assertThat(workers(node)).allSatisfy(w -> assertThat(w.devices()).isEqualTo(2));

      workers.processes().get(0).destroyForcibly().waitFor();
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> workers(node).size() == 1);
      assertThat(workers(node)).extracting(WorkerView::name).containsExactly("local-1");
    }
  }
}
