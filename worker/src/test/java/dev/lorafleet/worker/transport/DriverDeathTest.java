package dev.lorafleet.worker.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneDriver;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.transport.ReducedGradient;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.driver.MediaDriver;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's embedded Aeron media driver closed under a live data plane (its threads stopped, its
 * directory gone, the client and channels left open as a crash of the driver would leave them): the
 * worker notices, starts a new driver with new channels, and the next gather completes with the
 * exact sum; the new parameters reach it too.
 */
class DriverDeathTest {
  private static final String JOB = "job-1";
  private static final String TIMEOUT_PROPERTY = "lorafleet.dataplane.driverTimeoutMs";

  @TempDir Path driverParent;

  @BeforeAll
  static void shortDriverTimeout() {
    // Aeron's 10 s would make the test wait that long for the client to give up on the driver
    System.setProperty(TIMEOUT_PROPERTY, "1500");
  }

  @AfterAll
  static void restoreDriverTimeout() {
    System.clearProperty(TIMEOUT_PROPERTY);
  }

  private DataPlaneConfig config() {
    return DataPlaneConfig.defaults()
        .withPorts(0, 0)
        .withDriverDirectoryParent(driverParent)
        .withTermLength(1 << 20)
        .withMtu(4096)
        .withSendTimeout(Duration.ofSeconds(10));
  }

  /**
   * The worker's embedded {@link MediaDriver}, reached by reflection: production code has no reason
   * to hand it out, and closing it alone is what a crash of the driver does to the worker.
   */
  private static MediaDriver mediaDriverOf(WorkerDataPlane worker) throws Exception {
    Field linkField = WorkerDataPlane.class.getDeclaredField("link");
    linkField.setAccessible(true);
    Object link = linkField.get(worker);
    Method driverAccessor = link.getClass().getDeclaredMethod("driver");
    driverAccessor.setAccessible(true);
    DataPlaneDriver driver = (DataPlaneDriver) driverAccessor.invoke(link);
    Field mediaDriver = DataPlaneDriver.class.getDeclaredField("driver");
    mediaDriver.setAccessible(true);
    return (MediaDriver) mediaDriver.get(driver);
  }

  private static float[] vector(int length, long seed) {
    Random random = new Random(seed);
    float[] v = new float[length];
    for (int i = 0; i < length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  private static ReducedGradient complete(CompletableFuture<GatherResult> gather) throws Exception {
    GatherResult result = gather.get(30, TimeUnit.SECONDS);
    assertThat(result).isInstanceOf(GatherResult.Complete.class);
    return ((GatherResult.Complete) result).gradient();
  }

  @Test
  void shouldRecoverFromADeadMediaDriverAndCompleteTheNextGatherExactly() throws Exception {
    int length = 50_000; // several chunks
    DataPlaneConfig workerConfig = config();
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(config());
        WorkerDataPlane worker =
            WorkerDataPlane.connect(coordinator.endpoints(), "w1", workerConfig)) {
      float[] first = vector(length, 1);
      CompletableFuture<GatherResult> gather1 =
          coordinator.gather(JOB, 1, List.of("w1"), length, Duration.ofSeconds(30));
      worker.sendGradient(JOB, 1, first, 10, 1.0, WireDtype.FP32);
      assertThat(complete(gather1).sum()).containsExactly(first);
      float[] params2 = vector(length, 2);
      coordinator.broadcast(JOB, 2, params2);
      assertThat(worker.awaitParameters(JOB, 2, Duration.ofSeconds(30)).values())
          .containsExactly(params2);

      String deadDirectory = worker.driverDirectory();
      long stopped = System.nanoTime();
      mediaDriverOf(worker).close();
      Awaitility.await()
          .atMost(Duration.ofSeconds(15))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> !worker.isDriverAlive());
      double detectSeconds = (System.nanoTime() - stopped) / 1e9;

      // the step in flight: its gradient goes out over a new driver, whole and exact
      float[] second = vector(length, 3);
      CompletableFuture<GatherResult> gather2 =
          coordinator.gather(JOB, 2, List.of("w1"), length, Duration.ofSeconds(30));
      worker.sendGradient(JOB, 2, second, 20, 2.0, WireDtype.FP32);
      ReducedGradient sum = complete(gather2);
      double recoverSeconds = (System.nanoTime() - stopped) / 1e9;

      assertThat(sum.sum()).containsExactly(second);
      assertThat(sum.tokenCount()).isEqualTo(20);
      assertThat(worker.driverRestarts()).isEqualTo(1);
      assertThat(worker.driverDirectory()).isNotEqualTo(deadDirectory);
      assertThat(worker.isDriverAlive()).isTrue();
      float[] params3 = vector(length, 4);
      coordinator.broadcast(JOB, 3, params3);
      assertThat(worker.awaitParameters(JOB, 3, Duration.ofSeconds(30)).values())
          .containsExactly(params3);
      System.out.printf(
          "FAULT aeron_driver_death detect_s=%.2f recover_s=%.2f steps_lost=0"
              + " adapter_max_rel_diff=0 (gather sum bitwise exact)%n",
          detectSeconds, recoverSeconds);
    }
  }
}
