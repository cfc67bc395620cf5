package dev.lorafleet.worker.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.transport.ReducedGradient;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DataPlaneEndToEndTest {
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopPool() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  static DataPlaneConfig testConfig() {
    return DataPlaneConfig.defaults()
        .withPorts(0, 0)
        .withTermLength(1 << 20)
        .withMtu(4096)
        .withSendTimeout(Duration.ofSeconds(10));
  }

  @Test
  void gathersExactSumOverUdpAndBroadcastsParametersToEveryWorker() throws Exception {
    int length = 100_003; // odd, many chunks
    List<String> workers = List.of("worker-b", "worker-a", "worker-c");
    WireDtype[] dtypes = {WireDtype.FP32, WireDtype.BF16, WireDtype.FP32};
    Random random = new Random(42);
    List<float[]> vectors = new ArrayList<>();
    for (int w = 0; w < workers.size(); w++) {
      float[] v = new float[length];
      for (int i = 0; i < length; i++) {
        v[i] = (float) random.nextGaussian() * (1 + w);
      }
      vectors.add(v);
    }
    float[] parameters = new float[length];
    for (int i = 0; i < length; i++) {
      parameters[i] = random.nextFloat();
    }
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(testConfig())) {
      var gathered = coordinator.gather("job-1", 7, workers, length, Duration.ofSeconds(20));
      List<Future<AdapterParameters>> received = new ArrayList<>();
      for (int w = 0; w < workers.size(); w++) {
        int index = w;
        received.add(
            pool.submit(
                () -> {
                  try (WorkerDataPlane worker =
                      WorkerDataPlane.connect(
                          coordinator.endpoints(), workers.get(index), testConfig())) {
                    worker.sendGradient(
                        "job-1", 7, vectors.get(index), 100 + index, 1.5 * index, dtypes[index]);
                    AdapterParameters p =
                        worker.awaitParameters("job-1", 8, Duration.ofSeconds(20));
                    return new AdapterParameters(p.jobId(), p.step(), p.values().clone());
                  }
                }));
      }
      GatherResult result = gathered.get(20, TimeUnit.SECONDS);
      assertThat(result).isInstanceOf(GatherResult.Complete.class);
      ReducedGradient sum = ((GatherResult.Complete) result).gradient();
      assertThat(sum.workers()).containsExactly("worker-a", "worker-b", "worker-c");
      assertThat(sum.tokenCount()).isEqualTo(303);
      float[] expected = new float[length];
      for (String id : sum.workers()) {
        int w = workers.indexOf(id);
        for (int i = 0; i < length; i++) {
          float x = vectors.get(w)[i];
          expected[i] +=
              dtypes[w] == WireDtype.BF16 ? VectorFrame.fromBf16(VectorFrame.toBf16(x)) : x;
        }
      }
      assertThat(sum.sum()).containsExactly(expected);

      coordinator.broadcast("job-1", 8, parameters).get(20, TimeUnit.SECONDS);
      for (Future<AdapterParameters> f : received) {
        AdapterParameters p = f.get(20, TimeUnit.SECONDS);
        assertThat(p.step()).isEqualTo(8);
        assertThat(p.values()).containsExactly(parameters);
      }
      assertThat(coordinator.counters().dropped()).isZero();
    }
  }
}
