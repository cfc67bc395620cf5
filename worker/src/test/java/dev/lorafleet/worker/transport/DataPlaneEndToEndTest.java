package dev.lorafleet.worker.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneConfig.Transport;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.transport.ReducedGradient;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.LossGenerator;
import io.aeron.driver.ext.RandomLossGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator and several workers, each with its own embedded media driver (as separate processes
 * would have), on loopback UDP or IPC: the gradient sum and the parameters arrive whole.
 */
class DataPlaneEndToEndTest {
  private static final String JOB = "job-1";

  @TempDir Path driverParent;
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopPool() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
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
   * Aeron's debug receive endpoint in every driver: drops {@code rate} of the UDP data packets a
   * driver receives and of the status/NAK packets it sends back, counting what it dropped.
   */
  private static Consumer<MediaDriver.Context> lossy(double rate, AtomicLong dropped) {
    AtomicLong seeds = new AtomicLong(1000);
    return context ->
        context.receiveChannelEndpointSupplier(
            (channel, dispatcher, status, ctx) ->
                new DebugReceiveChannelEndpoint(
                    channel,
                    dispatcher,
                    status,
                    ctx,
                    counting(new RandomLossGenerator(rate, seeds.incrementAndGet()), dropped),
                    counting(new RandomLossGenerator(rate, seeds.incrementAndGet()), dropped)));
  }

  private static LossGenerator counting(LossGenerator generator, AtomicLong dropped) {
    return (address, buffer, length) -> {
      boolean drop = generator.shouldDropFrame(address, buffer, length);
      if (drop) {
        dropped.incrementAndGet();
      }
      return drop;
    };
  }

  private record Outcome(ReducedGradient sum, List<AdapterParameters> received) {}

  /**
   * Gathers one step from {@code workers} (each sends a random vector in its dtype), broadcasts
   * parameters, and returns the sum and what every worker received.
   */
  private Outcome gatherAndBroadcast(
      DataPlaneConfig config, List<String> workers, List<WireDtype> dtypes, int length, float[] p)
      throws Exception {
    Random random = new Random(42);
    List<float[]> vectors = new ArrayList<>();
    for (int w = 0; w < workers.size(); w++) {
      float[] v = new float[length];
      for (int i = 0; i < length; i++) {
        v[i] = (float) random.nextGaussian() * (1 + w);
      }
      vectors.add(v);
    }
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(config)) {
      var gathered = coordinator.gather(JOB, 7, workers, length, Duration.ofSeconds(30));
      List<Future<AdapterParameters>> received = new ArrayList<>();
      for (int w = 0; w < workers.size(); w++) {
        int index = w;
        received.add(
            pool.submit(
                () -> {
                  try (WorkerDataPlane worker =
                      WorkerDataPlane.connect(
                          coordinator.endpoints(), workers.get(index), config)) {
                    worker.sendGradient(
                        JOB, 7, vectors.get(index), 100 + index, 1.5 * index, dtypes.get(index));
                    AdapterParameters got = worker.awaitParameters(JOB, 8, Duration.ofSeconds(30));
                    return new AdapterParameters(got.jobId(), got.step(), got.values().clone());
                  }
                }));
      }
      GatherResult result = gathered.get(30, TimeUnit.SECONDS);
      assertThat(result).isInstanceOf(GatherResult.Complete.class);
      coordinator.broadcast(JOB, 8, p).get(30, TimeUnit.SECONDS);
      List<AdapterParameters> parameters = new ArrayList<>();
      for (Future<AdapterParameters> f : received) {
        parameters.add(f.get(30, TimeUnit.SECONDS));
      }
      assertThat(coordinator.counters().droppedChecksum()).isZero();
      ReducedGradient sum = ((GatherResult.Complete) result).gradient();
      float[] expected = new float[length];
      for (String id : sum.workers()) {
        int w = workers.indexOf(id);
        for (int i = 0; i < length; i++) {
          float x = vectors.get(w)[i];
          expected[i] +=
              dtypes.get(w) == WireDtype.BF16 ? VectorFrame.fromBf16(VectorFrame.toBf16(x)) : x;
        }
      }
      assertBitwiseEqual(sum.sum(), expected);
      return new Outcome(sum, parameters);
    }
  }

  private static float[] parameters(int length) {
    Random random = new Random(7);
    float[] p = new float[length];
    for (int i = 0; i < length; i++) {
      p[i] = random.nextFloat();
    }
    return p;
  }

  @Test
  void gathersExactSumOverUdpAndBroadcastsParametersToEveryWorker() throws Exception {
    int length = 100_003;
    float[] p = parameters(length);
    Outcome outcome =
        gatherAndBroadcast(
            config(),
            List.of("worker-b", "worker-a", "worker-c"),
            List.of(WireDtype.FP32, WireDtype.BF16, WireDtype.FP32),
            length,
            p);

    assertThat(outcome.sum().workers()).containsExactly("worker-a", "worker-b", "worker-c");
    assertThat(outcome.sum().tokenCount()).isEqualTo(303);
    assertThat(outcome.sum().lossSum()).isEqualTo(4.5);
    for (AdapterParameters received : outcome.received()) {
      assertThat(received.step()).isEqualTo(8);
      assertBitwiseEqual(received.values(), p);
    }
    try (var left = Files.list(driverParent)) {
      assertThat(left).as("every driver directory is deleted on close").isEmpty();
    }
  }

  @Test
  void gathersAndBroadcastsOverIpcThroughTheCoordinatorsDriver() throws Exception {
    int length = 70_001;
    float[] p = parameters(length);
    Outcome outcome =
        gatherAndBroadcast(
            config().withTransport(Transport.IPC),
            List.of("w1", "w2"),
            List.of(WireDtype.BF16, WireDtype.FP32),
            length,
            p);
    for (AdapterParameters received : outcome.received()) {
      assertBitwiseEqual(received.values(), p);
    }
  }

  @Test
  void everyVectorArrivesIntactWhenFivePercentOfUdpPacketsAreLost() throws Exception {
    int length = 1_200_001;
    float[] p = parameters(length);
    AtomicLong dropped = new AtomicLong();
    Outcome outcome =
        gatherAndBroadcast(
            config().withDriverCustomizer(lossy(0.05, dropped)),
            List.of("w1", "w2", "w3"),
            List.of(WireDtype.FP32, WireDtype.FP32, WireDtype.BF16),
            length,
            p);
    for (AdapterParameters received : outcome.received()) {
      assertBitwiseEqual(received.values(), p);
    }
    // 3 x 1.2M floats up and 3 x 1.2M down in 64 KiB frames (loopback): about 440 data packets,
    // 5% of them about 22
    assertThat(dropped.get()).as("packets the loss generators dropped").isGreaterThan(5);
  }

  @Test
  void aWorkerThatJoinsAfterTheBroadcastReceivesTheCurrentParameters() throws Exception {
    float[] p = parameters(30_001);
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(config())) {
      coordinator.broadcast(JOB, 3, p).get(10, TimeUnit.SECONDS);
      coordinator.broadcast(JOB, 4, p).get(10, TimeUnit.SECONDS);
      try (WorkerDataPlane late =
          WorkerDataPlane.connect(coordinator.endpoints(), "late-worker", config())) {
        AdapterParameters received = late.awaitParameters(JOB, 4, Duration.ofSeconds(10));
        assertThat(received.step()).isEqualTo(4);
        assertBitwiseEqual(received.values(), p);
      }
    }
  }

  @Test
  void awaitingAVersionThatNeverComesFailsWithAClearMessage() {
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(config());
        WorkerDataPlane worker = WorkerDataPlane.connect(coordinator.endpoints(), "w", config())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> worker.awaitParameters(JOB, 1, Duration.ofMillis(300)))
          .hasMessageContaining("worker w, job job-1: parameters of step 1 or newer")
          .hasMessageContaining(coordinator.endpoints().encode());
    }
  }

  static void assertBitwiseEqual(float[] actual, float[] expected) {
    if (actual.length != expected.length) {
      fail("length " + actual.length + " but expected " + expected.length);
    }
    for (int i = 0; i < actual.length; i++) {
      if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
        fail("element " + i + " is " + actual[i] + " but expected " + expected[i]);
      }
    }
  }
}
