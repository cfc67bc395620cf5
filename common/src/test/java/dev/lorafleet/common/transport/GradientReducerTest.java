package dev.lorafleet.common.transport;

import static dev.lorafleet.common.transport.TestVectors.assertBitwiseEqual;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.transport.GradientReducer.Verdict;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class GradientReducerTest {
  private static final int LENGTH = 12_347; // odd, not a multiple of any chunk size below
  private static final List<String> WORKERS = List.of("w3", "w0", "w4", "w1", "w2");
  private static final List<WireDtype> DTYPES =
      List.of(WireDtype.FP32, WireDtype.BF16, WireDtype.FP32, WireDtype.BF16, WireDtype.FP32);
  private static final int[] CHUNK_ELEMENTS = {256, 1000, 37 * 8, 4096, 8};

  /** Each worker's frames, in the order its publication would deliver them. */
  private static List<List<UnsafeBuffer>> workerFrames(List<float[]> vectors) {
    List<List<UnsafeBuffer>> frames = new ArrayList<>();
    for (int w = 0; w < WORKERS.size(); w++) {
      frames.add(
          TestVectors.frames(
              VectorFrame.KIND_GRADIENT,
              DTYPES.get(w),
              "job",
              5,
              WORKERS.get(w),
              0,
              vectors.get(w),
              CHUNK_ELEMENTS[w],
              10L * (w + 1),
              0.25 * w));
    }
    return frames;
  }

  /**
   * Delivers the frames as Aeron would: each worker's in order, workers interleaved at random; a
   * held frame stays at the head of its worker's queue and is offered again later.
   */
  private static GradientReducer deliver(List<List<UnsafeBuffer>> frames, long seed) {
    return deliver(frames, seed, null);
  }

  private static GradientReducer deliver(
      List<List<UnsafeBuffer>> frames, long seed, float[] spare) {
    return offerAll(
        new GradientReducer("job", 5, 0, WORKERS, LENGTH, new TransportCounters(), spare),
        frames,
        seed,
        0);
  }

  /**
   * Offers each worker's frames in order, workers interleaved at random (worker {@code w}'s frames
   * on session {@code sessionBase + w}), until every frame was taken.
   */
  private static GradientReducer offerAll(
      GradientReducer reducer, List<List<UnsafeBuffer>> frames, long seed, int sessionBase) {
    List<ArrayDeque<UnsafeBuffer>> queues = new ArrayList<>();
    frames.forEach(list -> queues.add(new ArrayDeque<>(list)));
    Random random = new Random(seed);
    int guard = 0;
    while (queues.stream().anyMatch(q -> !q.isEmpty())) {
      int w = random.nextInt(queues.size());
      UnsafeBuffer head = queues.get(w).peek();
      if (head == null) {
        continue;
      }
      Verdict verdict = reducer.onFrame(head, 0, head.capacity(), sessionBase + w);
      assertThat(verdict).isNotEqualTo(Verdict.DROPPED);
      if (verdict == Verdict.ADDED) {
        queues.get(w).poll();
      }
      assertThat(++guard).as("delivery makes progress").isLessThan(10_000_000);
    }
    return reducer;
  }

  private static List<float[]> vectors(long seed) {
    Random random = new Random(seed);
    List<float[]> vectors = new ArrayList<>();
    for (int w = 0; w < WORKERS.size(); w++) {
      vectors.add(TestVectors.gaussian(random, LENGTH, (float) Math.pow(10, w - 2)));
    }
    return vectors;
  }

  @Test
  void sumEqualsReferenceSumInWorkerIdOrder() {
    List<float[]> vectors = vectors(1);
    GradientReducer reducer = deliver(workerFrames(vectors), 7);

    assertThat(reducer.isComplete()).isTrue();
    ReducedGradient result = reducer.result();
    assertThat(result.workers()).containsExactly("w0", "w1", "w2", "w3", "w4");
    List<float[]> sorted = new ArrayList<>();
    List<WireDtype> sortedDtypes = new ArrayList<>();
    for (String id : result.workers()) {
      sorted.add(vectors.get(WORKERS.indexOf(id)));
      sortedDtypes.add(DTYPES.get(WORKERS.indexOf(id)));
    }
    assertBitwiseEqual(result.sum(), TestVectors.referenceSum(sorted, sortedDtypes, LENGTH));
    assertThat(result.tokenCount()).isEqualTo(10 + 20 + 30 + 40 + 50);
    assertThat(result.lossSum()).isEqualTo(2.5);
  }

  @Test
  void shuffledArrivalGivesBitwiseIdenticalResult() {
    List<List<UnsafeBuffer>> frames = workerFrames(vectors(2));
    float[] first = deliver(frames, 100).result().sum();
    for (long seed = 101; seed < 110; seed++) {
      assertBitwiseEqual(deliver(frames, seed).result().sum(), first);
    }
  }

  @Test
  void orderOfAdditionMattersSoTheFixedOrderIsWhatMakesItDeterministic() {
    // guards the test above against vacuity: a different order of adds gives other bits
    List<float[]> vectors = vectors(3);
    float[] forward = TestVectors.referenceSum(vectors, DTYPES, LENGTH);
    List<float[]> reversed = new ArrayList<>(vectors);
    List<WireDtype> reversedDtypes = new ArrayList<>(DTYPES);
    java.util.Collections.reverse(reversed);
    java.util.Collections.reverse(reversedDtypes);
    float[] backward = TestVectors.referenceSum(reversed, reversedDtypes, LENGTH);
    assertThat(java.util.Arrays.equals(forward, backward)).isFalse();
  }

  @Test
  void holdsChunksOfHigherRanksUntilLowerRanksCaughtUp() {
    List<List<UnsafeBuffer>> frames = workerFrames(vectors(4));
    GradientReducer reducer =
        new GradientReducer("job", 5, 0, WORKERS, LENGTH, new TransportCounters());
    UnsafeBuffer w1First = frames.get(WORKERS.indexOf("w1")).get(0);
    assertThat(reducer.onFrame(w1First, 0, w1First.capacity(), 1)).isEqualTo(Verdict.HOLD);
    assertThat(reducer.silent()).doesNotContain("w1").contains("w0");
  }

  @Test
  void dropsDuplicatesAndCountsThem() {
    TransportCounters counters = new TransportCounters();
    List<float[]> vectors = vectors(5);
    List<List<UnsafeBuffer>> frames = workerFrames(vectors);
    GradientReducer reducer = new GradientReducer("job", 5, 0, WORKERS, LENGTH, counters);
    List<UnsafeBuffer> w0 = frames.get(WORKERS.indexOf("w0"));
    assertThat(reducer.onFrame(w0.get(0), 0, w0.get(0).capacity(), 1)).isEqualTo(Verdict.ADDED);
    assertThat(reducer.onFrame(w0.get(0), 0, w0.get(0).capacity(), 1)).isEqualTo(Verdict.DROPPED);
    assertThat(counters.snapshot().droppedDuplicate()).isEqualTo(1);
  }

  @Test
  void dropsChunkThatSkipsAheadOnTheSameImage() {
    TransportCounters counters = new TransportCounters();
    List<List<UnsafeBuffer>> frames = workerFrames(vectors(6));
    GradientReducer reducer = new GradientReducer("job", 5, 0, WORKERS, LENGTH, counters);
    List<UnsafeBuffer> w0 = frames.get(WORKERS.indexOf("w0"));
    reducer.onFrame(w0.get(0), 0, w0.get(0).capacity(), 9);
    // chunk 1 lost: chunk 2 on the same image can never be added in order
    assertThat(reducer.onFrame(w0.get(2), 0, w0.get(2).capacity(), 9)).isEqualTo(Verdict.DROPPED);
    // on another image (a replacement publication) it waits for the old image's tail
    assertThat(reducer.onFrame(w0.get(2), 0, w0.get(2).capacity(), 10)).isEqualTo(Verdict.HOLD);
    assertThat(counters.snapshot().droppedMalformed()).isEqualTo(1);
  }

  /** Four fp32 workers chunking alike: the fast path (ranges summed once all frames are held). */
  private static List<List<UnsafeBuffer>> alikeFrames(List<float[]> vectors, int chunk) {
    List<List<UnsafeBuffer>> frames = new ArrayList<>();
    for (int w = 0; w < vectors.size(); w++) {
      frames.add(
          TestVectors.frames(
              VectorFrame.KIND_GRADIENT,
              WireDtype.FP32,
              "job",
              5,
              "w" + w,
              0,
              vectors.get(w),
              chunk,
              7L * (w + 1),
              0.5 * w));
    }
    return frames;
  }

  /**
   * Like {@link #deliver} for workers "w0".."wN-1"; an {@code ADDED} frame leaves its queue, so a
   * frame the fast path summed while it was held must be answered ADDED when offered again.
   */
  private static GradientReducer deliverAlike(
      List<List<UnsafeBuffer>> frames, long seed, TransportCounters counters) {
    return deliverAlike(frames, seed, counters, null);
  }

  private static GradientReducer deliverAlike(
      List<List<UnsafeBuffer>> frames, long seed, TransportCounters counters, float[] spare) {
    List<String> ids = new ArrayList<>();
    for (int w = 0; w < frames.size(); w++) {
      ids.add("w" + w);
    }
    return offerAll(
        new GradientReducer("job", 5, 0, ids, LENGTH, counters, spare), frames, seed, 100);
  }

  @Test
  void workersChunkingAlikeGiveTheRankOrderedSumBitwiseInAnyArrivalOrder() {
    List<float[]> vectors = vectors(11).subList(0, 4);
    float[] reference =
        TestVectors.referenceSum(
            vectors,
            List.of(WireDtype.FP32, WireDtype.FP32, WireDtype.FP32, WireDtype.FP32),
            LENGTH);
    List<List<UnsafeBuffer>> frames = alikeFrames(vectors, 1000);
    for (long seed = 1; seed <= 5; seed++) {
      TransportCounters counters = new TransportCounters();
      GradientReducer reducer = deliverAlike(frames, seed, counters);
      assertThat(reducer.isComplete()).isTrue();
      ReducedGradient result = reducer.result();
      assertBitwiseEqual(result.sum(), reference);
      assertThat(result.tokenCount()).isEqualTo(7 + 14 + 21 + 28);
      assertThat(result.lossSum()).isEqualTo(3.0);
      assertThat(counters.snapshot().droppedDuplicate()).isZero();
      assertThat(counters.snapshot().bytesAccepted()).isEqualTo(4L * 4 * LENGTH);
    }
    // one worker chunking differently sends the gather down the rank-ordered path: same bits
    List<List<UnsafeBuffer>> mixed = new ArrayList<>(frames);
    mixed.set(
        2,
        TestVectors.frames(
            VectorFrame.KIND_GRADIENT,
            WireDtype.FP32,
            "job",
            5,
            "w2",
            0,
            vectors.get(2),
            333,
            21,
            1.0));
    assertBitwiseEqual(deliverAlike(mixed, 9, new TransportCounters()).result().sum(), reference);
  }

  @Test
  void aCorruptFrameOnTheFastPathIsDroppedAndItsResendSummed() {
    List<float[]> vectors = vectors(12).subList(0, 2);
    List<List<UnsafeBuffer>> frames = alikeFrames(vectors, 4096);
    TransportCounters counters = new TransportCounters();
    GradientReducer reducer =
        new GradientReducer("job", 5, 0, List.of("w0", "w1"), LENGTH, counters);
    UnsafeBuffer good = frames.get(1).get(0);
    UnsafeBuffer corrupt = new UnsafeBuffer(new byte[good.capacity()]);
    corrupt.putBytes(0, good, 0, good.capacity());
    corrupt.putByte(
        VectorFrame.HEADER_LENGTH + 17, (byte) (good.getByte(VectorFrame.HEADER_LENGTH + 17) ^ 4));
    UnsafeBuffer w0First = frames.get(0).get(0);
    assertThat(reducer.onFrame(w0First, 0, w0First.capacity(), 1)).isEqualTo(Verdict.HOLD);
    assertThat(reducer.onFrame(corrupt, 0, corrupt.capacity(), 2)).isEqualTo(Verdict.DROPPED);
    assertThat(counters.snapshot().droppedChecksum()).isEqualTo(1);
    assertThat(reducer.onFrame(good, 0, good.capacity(), 2)).isEqualTo(Verdict.ADDED);
    // w0's held frame was summed with it; offered again, it leaves without being added twice
    assertThat(reducer.onFrame(w0First, 0, w0First.capacity(), 1)).isEqualTo(Verdict.ADDED);
    for (int c = 1; c < frames.get(0).size(); c++) {
      for (int w = 1; w >= 0; w--) {
        UnsafeBuffer f = frames.get(w).get(c);
        Verdict verdict = reducer.onFrame(f, 0, f.capacity(), w + 1);
        assertThat(verdict).isEqualTo(w == 1 ? Verdict.HOLD : Verdict.ADDED);
      }
      UnsafeBuffer held = frames.get(1).get(c);
      assertThat(reducer.onFrame(held, 0, held.capacity(), 2)).isEqualTo(Verdict.ADDED);
    }
    assertBitwiseEqual(
        reducer.result().sum(),
        TestVectors.referenceSum(vectors, List.of(WireDtype.FP32, WireDtype.FP32), LENGTH));
    assertThat(counters.snapshot().droppedDuplicate()).isZero();
  }

  /** An array as a recycled sum might hold: anything at all, NaN and -0.0 included. */
  private static float[] garbage(long seed) {
    Random random = new Random(seed);
    float[] spare = new float[LENGTH];
    for (int i = 0; i < LENGTH; i++) {
      spare[i] = i % 7 == 0 ? Float.NaN : i % 5 == 0 ? -0f : random.nextFloat() * 1e30f;
    }
    return spare;
  }

  @Test
  void aReusedSumArrayGivesTheSameBitsAsANewOneOnEveryPath() {
    // every worker has -0.0 at the same elements: 0 + -0.0 + -0.0 ... is +0.0, the bits to keep
    List<float[]> vectors = vectors(13);
    for (float[] v : vectors) {
      for (int i = 0; i < LENGTH; i += 11) {
        v[i] = -0f;
      }
    }
    // rank-ordered adds (workers chunk differently, mixed dtypes)
    float[] spare = garbage(1);
    GradientReducer ranked = deliver(workerFrames(vectors), 3, spare);
    assertThat(ranked.result().sum()).isSameAs(spare);
    assertBitwiseEqual(spare, deliver(workerFrames(vectors), 4).result().sum());
    // the fast path (every worker chunks alike), two and four workers
    for (int n : new int[] {2, 4}) {
      List<float[]> some = vectors.subList(0, n);
      List<List<UnsafeBuffer>> frames = alikeFrames(some, 1000);
      float[] reused = garbage(n);
      deliverAlike(frames, 5, new TransportCounters(), reused);
      assertBitwiseEqual(reused, deliverAlike(frames, 6, new TransportCounters()).result().sum());
      assertThat(Float.floatToRawIntBits(reused[0])).isZero(); // +0.0, not -0.0 or garbage
    }
    // one worker: its vector, with -0.0 turned into +0.0 as adding to zeros does
    List<List<UnsafeBuffer>> one = alikeFrames(vectors.subList(0, 1), 999);
    float[] reused = garbage(7);
    deliverAlike(one, 8, new TransportCounters(), reused);
    assertBitwiseEqual(
        reused, TestVectors.referenceSum(vectors.subList(0, 1), List.of(WireDtype.FP32), LENGTH));
  }

  @Test
  void rejectsGatherWithoutWorkers() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new GradientReducer("job", 1, 0, List.of(), 10, new TransportCounters()))
        .hasMessageContaining("names no workers");
  }
}
