package dev.lorafleet.common.transport;

import static dev.lorafleet.common.transport.TestVectors.assertBitwiseEqual;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.SystemNanoClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VectorPublisherTest {
  private static final int TERM_LENGTH = 64 * 1024;

  @TempDir Path parent;
  private DataPlaneDriver driver;
  private Aeron aeron;
  private final TransportCounters counters = new TransportCounters();

  @BeforeEach
  void start() {
    driver =
        DataPlaneDriver.launchEmbedded(
            DataPlaneConfig.defaults()
                .withDriverDirectoryParent(parent)
                .withTermLength(TERM_LENGTH)
                .withMtu(4096),
            "publisher-test");
    aeron = driver.aeron();
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  /** Receives on {@code subscription} while {@code publisher} sends, in this thread. */
  private float[] sendAndReceive(VectorPublisher publisher, Subscription subscription, float[] v) {
    ParameterAdapter adapter =
        new ParameterAdapter(new TransportCounters(), 1 << 28, SystemNanoClock.INSTANCE);
    ParameterAdapter.JobParameters job = adapter.watch("job");
    publisher.begin(
        VectorFrame.KIND_PARAMETERS,
        WireDtype.FP32,
        VectorFrame.key("job"),
        1,
        0,
        0,
        v,
        v.length,
        0,
        0);
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (job.completeStep() != 1) {
      publisher.progress(4);
      adapter.poll(subscription, 16);
      assertThat(System.nanoTime()).as("vector arrives within 10 s").isLessThan(end);
    }
    return job.completeValues();
  }

  @Test
  void replacesAPublicationThatReachesItsMaximumPositionAndTheVectorStillArrivesWhole() {
    // start two terms before the end of the position space: max position = term length * 2^31
    String channel =
        "aeron:ipc?term-length=" + TERM_LENGTH + "|init-term-id=0|term-id=2147483646|term-offset=0";
    Subscription subscription = aeron.addSubscription("aeron:ipc", 5);
    ExclusivePublication nearTheEnd = aeron.addExclusivePublication(channel, 5);
    assertThat(nearTheEnd.maxPossiblePosition() - nearTheEnd.position())
        .isEqualTo(2L * TERM_LENGTH);
    VectorPublisher publisher =
        new VectorPublisher(aeron, nearTheEnd, channel, 0, counters, "test vector");
    float[] vector = TestVectors.gaussian(new Random(3), 50_001, 1f); // 200 KB > two terms

    float[] received = sendAndReceive(publisher, subscription, vector);

    assertBitwiseEqual(received, vector);
    assertThat(counters.snapshot().publicationsRecreated()).isEqualTo(1);
    assertThat(publisher.publication()).isNotSameAs(nearTheEnd);
    assertThat(publisher.publication().maxPossiblePosition() - publisher.publication().position())
        .as("the replacement starts from the beginning of the position space")
        .isGreaterThan(1L << 40);
  }

  @Test
  void replacesAClosedPublication() {
    String channel = "aeron:ipc?term-length=" + TERM_LENGTH;
    Subscription subscription = aeron.addSubscription("aeron:ipc", 6);
    ExclusivePublication publication = aeron.addExclusivePublication(channel, 6);
    VectorPublisher publisher = new VectorPublisher(aeron, publication, channel, 0, counters, "v");
    publication.close();
    float[] vector = TestVectors.gaussian(new Random(4), 3_000, 1f);

    assertBitwiseEqual(sendAndReceive(publisher, subscription, vector), vector);
    assertThat(counters.snapshot().publicationsRecreated()).isEqualTo(1);
  }

  @Test
  void blockingSendFailsClearlyWhenNobodyListens() {
    String channel = "aeron:ipc?term-length=" + TERM_LENGTH;
    VectorPublisher publisher =
        new VectorPublisher(
            aeron,
            aeron.addExclusivePublication(channel, 7),
            channel,
            0,
            counters,
            "gradients to nobody");
    assertThatThrownBy(
            () ->
                publisher.send(
                    VectorFrame.KIND_GRADIENT,
                    WireDtype.FP32,
                    1,
                    2,
                    3,
                    0,
                    new float[100],
                    100,
                    0,
                    0,
                    new BackoffIdleStrategy(),
                    SystemNanoClock.INSTANCE,
                    Duration.ofMillis(200).toNanos(),
                    "worker w, job j, step 2"))
        .isInstanceOf(DataPlaneException.class)
        .hasMessageContaining("worker w, job j, step 2")
        .hasMessageContaining("gradients to nobody")
        .hasMessageContaining("not connected");
  }

  @Test
  void chunksFitOneFrameAndHonourTheConfiguredSize() {
    String channel = "aeron:ipc?term-length=" + TERM_LENGTH + "|mtu=4096";
    ExclusivePublication publication = aeron.addExclusivePublication(channel, 8);
    VectorPublisher full = new VectorPublisher(aeron, publication, channel, 0, counters, "v");
    VectorPublisher small = new VectorPublisher(aeron, publication, channel, 1024, counters, "v");
    assertThat(VectorFrame.frameLength(WireDtype.FP32, full.chunkElements(WireDtype.FP32)))
        .isLessThanOrEqualTo(publication.maxPayloadLength());
    assertThat(small.chunkElements(WireDtype.FP32)).isEqualTo(256);
    assertThat(small.chunkElements(WireDtype.BF16)).isEqualTo(512);
  }
}
