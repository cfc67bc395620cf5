package dev.lorafleet.common.transport;

import static dev.lorafleet.common.transport.TestVectors.assertBitwiseEqual;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.lorafleet.common.transport.DataPlaneConfig.Transport;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's agent driven by calling {@code doWork()} from the test thread, with an injected
 * clock, on a real media driver (IPC).
 */
class CoordinatorAgentTest {
  private static final int LENGTH = 5_001;

  @TempDir Path driverParent;
  private DataPlaneConfig config;
  private DataPlaneDriver driver;
  private Aeron aeron;
  private final CachedNanoClock clock = new CachedNanoClock();
  private final TransportCounters counters = new TransportCounters();
  private CoordinatorAgent agent;
  private CoordinatorProxy proxy;
  private Subscription gradients;

  @BeforeEach
  void startAgent() {
    config =
        DataPlaneConfig.defaults()
            .withTransport(Transport.IPC)
            .withDriverDirectoryParent(driverParent)
            .withTermLength(1 << 20)
            .withMtu(4096);
    driver = DataPlaneDriver.launchEmbedded(config, "agent-test");
    aeron = driver.aeron();
    gradients =
        aeron.addSubscription(
            DataPlaneChannels.gradientSubscription(config), DataPlaneChannels.GRADIENT_STREAM_ID);
    String parameterChannel = DataPlaneChannels.parameterPublication(config, 0);
    VectorPublisher parameters =
        new VectorPublisher(
            aeron,
            aeron.addExclusivePublication(parameterChannel, DataPlaneChannels.PARAMETER_STREAM_ID),
            parameterChannel,
            0,
            counters,
            "test parameters");
    ManyToOneConcurrentArrayQueue<CoordinatorCommand> queue =
        new ManyToOneConcurrentArrayQueue<>(64);
    clock.update(1_000_000_000L);
    agent = new CoordinatorAgent(gradients, parameters, queue, clock, counters, config);
    proxy = new CoordinatorProxy(queue, clock);
  }

  @AfterEach
  void stopAgent() {
    agent.onClose();
    CloseHelper.quietClose(driver);
  }

  private VectorPublisher worker(String id) {
    String channel =
        DataPlaneChannels.gradientPublication(DataPlaneEndpoints.ipc("unused"), config);
    return new VectorPublisher(
        aeron,
        aeron.addExclusivePublication(channel, DataPlaneChannels.GRADIENT_STREAM_ID),
        channel,
        0,
        new TransportCounters(),
        "gradients of " + id);
  }

  private static void begin(VectorPublisher publisher, String worker, long step, float[] values) {
    publisher.begin(
        VectorFrame.KIND_GRADIENT,
        WireDtype.FP32,
        VectorFrame.key("job"),
        step,
        VectorFrame.key(worker),
        0,
        values,
        values.length,
        7,
        0.5);
  }

  /** Runs senders and the agent's duty cycle in this thread until {@code done}, at most 10 s. */
  private void pumpUntil(BooleanSupplier done, VectorPublisher... senders) {
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!done.getAsBoolean()) {
      for (VectorPublisher sender : senders) {
        sender.progress(8);
      }
      agent.doWork();
      if (System.nanoTime() - end > 0) {
        fail("condition not reached within 10 s; counters " + counters.snapshot());
      }
    }
  }

  private static void offer(ExclusivePublication publication, DirectBuffer frame, int length) {
    long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (publication.offer(frame, 0, length) < 0) {
      if (System.nanoTime() - end > 0) {
        fail("could not offer a test frame");
      }
      Thread.onSpinWait();
    }
  }

  private static UnsafeBuffer firstFrame(String job, long step, String worker, float[] values) {
    return TestVectors.frames(
            VectorFrame.KIND_GRADIENT, WireDtype.FP32, job, step, worker, 0, values, 256, 7, 0.5)
        .get(0);
  }

  @Test
  void countsAndIgnoresHostileFramesAndStillSumsExactly() {
    Random random = new Random(11);
    float[] a = TestVectors.gaussian(random, LENGTH, 1f);
    float[] b = TestVectors.gaussian(random, LENGTH, 1f);
    CompletableFuture<GatherResult> gathered =
        proxy.gather("job", 4, 0, List.of("b", "a"), LENGTH, Duration.ofSeconds(30));
    agent.doWork();

    ExclusivePublication hostile =
        aeron.addExclusivePublication("aeron:ipc", DataPlaneChannels.GRADIENT_STREAM_ID);
    offer(hostile, new UnsafeBuffer(new byte[40]), 40); // truncated
    UnsafeBuffer valid = firstFrame("job", 4, "a", a);
    offer(hostile, valid, valid.capacity() - 4); // shorter than it says
    UnsafeBuffer huge = firstFrame("job", 4, "a", a);
    huge.putLong(VectorFrame.TOTAL_LENGTH_OFFSET, 1L << 31, java.nio.ByteOrder.LITTLE_ENDIAN);
    offer(hostile, huge, huge.capacity()); // declares a 2^31-element vector
    UnsafeBuffer corrupt = firstFrame("job", 4, "a", a);
    corrupt.putByte(VectorFrame.HEADER_LENGTH + 3, (byte) 0x7f);
    offer(hostile, corrupt, corrupt.capacity()); // checksum fails
    UnsafeBuffer replayed = firstFrame("job", 3, "a", a);
    offer(hostile, replayed, replayed.capacity()); // an older step
    UnsafeBuffer otherJob = firstFrame("other-job", 4, "a", a);
    offer(hostile, otherJob, otherJob.capacity()); // nobody gathers that job
    UnsafeBuffer stranger = firstFrame("job", 4, "mallory", a);
    offer(hostile, stranger, stranger.capacity()); // not an expected worker
    pumpUntil(() -> counters.snapshot().dropped() == 7);

    VectorPublisher workerA = worker("a");
    VectorPublisher workerB = worker("b");
    begin(workerA, "a", 4, a);
    begin(workerB, "b", 4, b);
    pumpUntil(gathered::isDone, workerA, workerB);

    GatherResult result = gathered.join();
    assertThat(result).isInstanceOf(GatherResult.Complete.class);
    ReducedGradient sum = ((GatherResult.Complete) result).gradient();
    assertBitwiseEqual(
        sum.sum(),
        TestVectors.referenceSum(List.of(a, b), List.of(WireDtype.FP32, WireDtype.FP32), LENGTH));
    assertThat(sum.tokenCount()).isEqualTo(14);

    UnsafeBuffer replay = firstFrame("job", 4, "a", a);
    offer(hostile, replay, replay.capacity()); // the finished step once more
    pumpUntil(() -> counters.snapshot().droppedDuplicate() == 1);

    DataPlaneCounters dropped = counters.snapshot();
    assertThat(dropped.droppedMalformed()).isEqualTo(3);
    assertThat(dropped.droppedChecksum()).isEqualTo(1);
    assertThat(dropped.droppedStaleStep()).isEqualTo(1);
    assertThat(dropped.droppedUnknownJob()).isEqualTo(1);
    assertThat(dropped.droppedUnknownWorker()).isEqualTo(1);
    assertThat(dropped.droppedDuplicate()).isEqualTo(1);
  }

  @Test
  void aRecycledSumIsWhereTheNextGatherSumsAndItsOldValuesDoNotLeakIn() {
    Random random = new Random(15);
    float[] first = TestVectors.gaussian(random, LENGTH, 1f);
    float[] second = TestVectors.gaussian(random, LENGTH, 1f);
    second[17] = -0f; // one worker: the sum is 0 + w, so +0.0
    VectorPublisher worker = worker("a");

    CompletableFuture<GatherResult> one =
        proxy.gather("job", 1, 0, List.of("a"), LENGTH, Duration.ofSeconds(30));
    agent.doWork();
    begin(worker, "a", 1, first);
    pumpUntil(one::isDone, worker);
    float[] sum = ((GatherResult.Complete) one.join()).gradient().sum();
    java.util.Arrays.fill(sum, Float.NaN); // whatever the caller left in it
    proxy.recycle("job", sum);

    CompletableFuture<GatherResult> two =
        proxy.gather("job", 2, 0, List.of("a"), LENGTH, Duration.ofSeconds(30));
    agent.doWork();
    begin(worker, "a", 2, second);
    pumpUntil(two::isDone, worker);
    float[] again = ((GatherResult.Complete) two.join()).gradient().sum();
    assertThat(again).isSameAs(sum);
    assertBitwiseEqual(
        again, TestVectors.referenceSum(List.of(second), List.of(WireDtype.FP32), LENGTH));
    assertThat(Float.floatToRawIntBits(again[17])).isZero();
  }

  @Test
  void reportsTheSilentWorkerOnlyOnceTheInjectedClockPassesTheDeadline() {
    Random random = new Random(12);
    float[] a = TestVectors.gaussian(random, LENGTH, 1f);
    float[] b = TestVectors.gaussian(random, LENGTH, 1f);
    CompletableFuture<GatherResult> gathered =
        proxy.gather("job", 9, 0, List.of("a", "b", "c"), LENGTH, Duration.ofSeconds(5));
    VectorPublisher workerA = worker("a");
    VectorPublisher workerB = worker("b");
    begin(workerA, "a", 9, a);
    begin(workerB, "b", 9, b);
    // a and b deliver everything they can; their frames are held until c's of the same range
    pumpUntil(() -> !workerA.isActive() && !workerB.isActive(), workerA, workerB);
    pumpUntil(() -> gradients.imageCount() == 2);
    agent.doWork();
    agent.doWork();
    assertThat(gathered).isNotDone();

    clock.advance(Duration.ofSeconds(5).toNanos() - 1);
    agent.doWork();
    assertThat(gathered).isNotDone();

    clock.advance(1);
    agent.doWork();
    GatherResult result = gathered.join();
    assertThat(result).isInstanceOf(GatherResult.TimedOut.class);
    GatherResult.TimedOut timedOut = (GatherResult.TimedOut) result;
    assertThat(timedOut.incomplete()).containsExactly("a", "b", "c");
    assertThat(timedOut.silent()).containsExactly("c");
  }

  @Test
  void tellsSilentLowRankFromHigherRanksThatWaitBehindIt() {
    Random random = new Random(13);
    float[] b = TestVectors.gaussian(random, LENGTH, 1f);
    CompletableFuture<GatherResult> gathered =
        proxy.gather("job", 2, 0, List.of("a", "b"), LENGTH, Duration.ofSeconds(1));
    VectorPublisher workerB = worker("b");
    begin(workerB, "b", 2, b);
    pumpUntil(() -> !workerB.isActive(), workerB);
    pumpUntil(() -> gradients.imageCount() == 1);
    agent.doWork(); // b's first chunk is offered and held behind a
    clock.advance(Duration.ofSeconds(1).toNanos());
    agent.doWork();

    GatherResult.TimedOut timedOut = (GatherResult.TimedOut) gathered.join();
    assertThat(timedOut.incomplete()).containsExactly("a", "b");
    assertThat(timedOut.silent()).containsExactly("a");
    // b's frames of the round that timed out are stale now, not duplicates of an added one
    pumpUntil(() -> counters.snapshot().droppedStaleStep() > 0);
    assertThat(counters.snapshot().droppedDuplicate()).isZero();
  }

  @Test
  void broadcastsParametersAndResendsThemToALateJoinerThatAsks() {
    float[] parameters = TestVectors.gaussian(new Random(14), LENGTH, 1f);
    Subscription early = aeron.addSubscription("aeron:ipc", DataPlaneChannels.PARAMETER_STREAM_ID);
    ParameterAdapter earlyAdapter = new ParameterAdapter(new TransportCounters(), 1 << 28, clock);
    ParameterAdapter.JobParameters earlyJob = earlyAdapter.watch("job");
    pumpUntil(early::isConnected);

    CompletableFuture<Void> sent = proxy.broadcast("job", 6, parameters);
    pumpUntil(
        () -> {
          earlyAdapter.poll(early, 64);
          return sent.isDone() && earlyJob.completeStep() == 6;
        });
    assertThat(earlyJob.completeValues()).containsExactly(parameters);

    Subscription late = aeron.addSubscription("aeron:ipc", DataPlaneChannels.PARAMETER_STREAM_ID);
    ParameterAdapter lateAdapter = new ParameterAdapter(new TransportCounters(), 1 << 28, clock);
    ParameterAdapter.JobParameters lateJob = lateAdapter.watch("job");
    VectorPublisher asker = worker("late");
    pumpUntil(
        () -> asker.trySendEmpty(VectorFrame.KIND_PARAMETER_REQUEST, VectorFrame.key("job"), 6, 1));
    pumpUntil(
        () -> {
          lateAdapter.poll(late, 64);
          earlyAdapter.poll(early, 64);
          return lateJob.completeStep() == 6;
        });
    assertBitwiseEqual(lateJob.completeValues(), parameters);
  }
}
