package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.Image;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agrona.DirectBuffer;

/**
 * Adds the gradient chunks of one gather (job, step, round) into one fp32 accumulator as they
 * arrive, bitwise independent of arrival order.
 *
 * <p>Why it is deterministic without buffering: workers are ranked by id and element {@code i} is
 * always summed as {@code ((0 + w0[i]) + w1[i]) + …}. A chunk of rank {@code r} covering {@code [o,
 * o+n)} is added only once every lower rank has delivered up to {@code o+n}; until then the frame
 * is {@linkplain Verdict#HOLD held}: the agent leaves it in Aeron's term buffer (controlled poll,
 * ABORT) and it is offered again on the next poll. Aeron delivers each worker's chunks in order, so
 * no chunk is ever copied aside and memory stays one vector whatever the worker count; a fast
 * worker is held back at most one Aeron receiver window ahead of a slower lower rank. Measured
 * alternative (exact accumulation) would need a wide accumulator per element, 2–4× the memory
 * traffic.
 *
 * <p>Fast path: when every worker chunks the vector alike (same dtype fp32, same frame size: the
 * usual case), a frame is checked when it arrives and held until every worker's frame of that range
 * has arrived; then the range is summed in one go, {@code acc = ((0 + w0) + w1) + …}, the same
 * additions in the same order, so the bits are the same. The accumulator range is then written once
 * per gather instead of read and written once per worker: a third less memory traffic with two
 * workers, more with more. The other workers' frames, still in their term buffers, are taken off
 * when their images offer them again. Any other chunking falls back to the rank-ordered adds above
 * for the rest of the gather.
 *
 * <p>The accumulator is never zeroed: the lowest-ranked worker's chunk of a range is written
 * ({@code 0 + w0}) and only then do the others add, so a reused array gives the same bits as a new
 * one.
 *
 * <p>Not thread-safe: the data-plane agent owns it.
 */
public final class GradientReducer {

  /** What became of a frame. */
  public enum Verdict {
    /** Added to the sum (or, for an empty vector, recorded). */
    ADDED,
    /** Not yet: a lower-ranked worker, or this worker's earlier chunk, must come first. */
    HOLD,
    /** Refused and counted. */
    DROPPED
  }

  private static final boolean NATIVE_LITTLE_ENDIAN =
      ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  private final String jobId;
  private final long jobKey;
  private final long step;
  private final int round;
  private final int length;
  private final String[] workerIds;
  private final long[] workerKeys;
  private final int[] prefix;
  private final boolean[] done;
  private final boolean[] held;
  private final int[] sessions;
  private final long[] tokens;
  private final double[] losses;
  private final float[] accumulator;
  private final TransportCounters counters;
  private int workersDone;

  // the fast path's frames, checked and held in their term buffers until the range is complete
  private final DirectBuffer[] pendingBuffer;
  private final int[] pendingOffset;
  private final int[] pendingFrameLength;
  private final int[] pendingChunk;
  private final int[] pendingCount;
  private final int[] pendingSession;
  private final Image[] pendingImage;
  private final boolean[] pending;
  // a frame already summed by the fast path that its image will offer once more: (offset, session)
  private final int[] summedAhead;
  private final int[] summedAheadSession;
  private boolean rankOrdered;

  /**
   * Begins a gather that sums into a new array.
   *
   * @param workerIds the expected workers; their order here does not matter (they are sorted)
   * @param length elements of every worker's vector
   */
  public GradientReducer(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      TransportCounters counters) {
    this(jobId, step, round, workerIds, length, counters, null);
  }

  /**
   * Begins a gather that sums into {@code spare} when it holds {@code length} floats (a sum the
   * caller gave back), else into a new array. What {@code spare} holds does not matter: every
   * element is written before it is read (the first worker's chunk of a range sets it, {@code 0 +
   * w0}, the others add), so the array needs no zeroing. That is the point: a 40M-element sum is
   * 160 MB, and allocating one per step means the JVM zeroes 160 MB per step on the data-plane
   * thread while the workers' frames wait.
   */
  public GradientReducer(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      TransportCounters counters,
      float[] spare) {
    if (workerIds.isEmpty()) {
      throw new IllegalArgumentException(
          "gather for job " + jobId + " step " + step + " names no workers");
    }
    if (length < 0) {
      throw new IllegalArgumentException(
          "gather for job " + jobId + " step " + step + " has negative length " + length);
    }
    this.jobId = jobId;
    this.jobKey = VectorFrame.key(jobId);
    this.step = step;
    this.round = round;
    this.length = length;
    this.workerIds = workerIds.stream().distinct().sorted().toArray(String[]::new);
    this.workerKeys = new long[this.workerIds.length];
    for (int r = 0; r < this.workerIds.length; r++) {
      workerKeys[r] = VectorFrame.key(this.workerIds[r]);
      for (int k = 0; k < r; k++) {
        if (workerKeys[k] == workerKeys[r]) {
          throw new IllegalArgumentException(
              "worker ids '"
                  + this.workerIds[k]
                  + "' and '"
                  + this.workerIds[r]
                  + "' hash to the same wire key; rename one of them");
        }
      }
    }
    int n = this.workerIds.length;
    this.prefix = new int[n];
    this.done = new boolean[n];
    this.held = new boolean[n];
    this.sessions = new int[n];
    this.tokens = new long[n];
    this.losses = new double[n];
    this.accumulator = spare != null && spare.length == length ? spare : new float[length];
    this.counters = counters;
    this.pendingBuffer = new DirectBuffer[n];
    this.pendingOffset = new int[n];
    this.pendingFrameLength = new int[n];
    this.pendingChunk = new int[n];
    this.pendingCount = new int[n];
    this.pendingSession = new int[n];
    this.pendingImage = new Image[n];
    this.pending = new boolean[n];
    this.summedAhead = new int[n];
    this.summedAheadSession = new int[n];
    Arrays.fill(summedAhead, -1);
    this.rankOrdered = n == 1 || !NATIVE_LITTLE_ENDIAN;
  }

  public String jobId() {
    return jobId;
  }

  public long jobKey() {
    return jobKey;
  }

  public long step() {
    return step;
  }

  public int round() {
    return round;
  }

  /** Whether (step, round) is older than this gather's: such frames are stale. */
  public boolean isOlderThanThis(long frameStep, int frameRound) {
    return frameStep < step || (frameStep == step && frameRound < round);
  }

  /** Whether (step, round) is newer than this gather's: such frames wait for their gather. */
  public boolean isNewerThanThis(long frameStep, int frameRound) {
    return frameStep > step || (frameStep == step && frameRound > round);
  }

  /**
   * Takes one gradient frame of this job that {@link VectorFrame#validate} passed. Frames of this
   * gather's (step, round) only; the caller sorts out other steps with {@link #isOlderThanThis} and
   * {@link #isNewerThanThis}.
   *
   * @param sessionId the Aeron session (image) the frame came on: a chunk that skips ahead on the
   *     image that delivered this worker's previous chunk means one was lost (dropped, counted); on
   *     another image it is a replacement publication overtaking the old one's tail (held)
   */
  public Verdict onFrame(DirectBuffer buffer, int offset, int frameLength, int sessionId) {
    return onFrame(buffer, offset, frameLength, sessionId, null);
  }

  /**
   * {@link #onFrame(DirectBuffer, int, int, int)} for a frame that lies in {@code image}'s term
   * buffer: a frame held for the fast path is read again only while its image is open.
   */
  public Verdict onFrame(
      DirectBuffer buffer, int offset, int frameLength, int sessionId, Image image) {
    if (VectorFrame.totalLength(buffer, offset) != length) {
      counters.malformed();
      return Verdict.DROPPED;
    }
    int rank = rankOf(VectorFrame.senderKey(buffer, offset));
    if (rank < 0) {
      counters.unknownWorker();
      return Verdict.DROPPED;
    }
    int chunkOffset = VectorFrame.chunkOffset(buffer, offset);
    int chunkLength = VectorFrame.chunkLength(buffer, offset);
    if (summedAhead[rank] == chunkOffset && summedAheadSession[rank] == sessionId) {
      summedAhead[rank] = -1; // summed with the other workers' frames of its range already
      return Verdict.ADDED;
    }
    if (done[rank] || chunkOffset < prefix[rank]) {
      counters.duplicate();
      return Verdict.DROPPED;
    }
    if (chunkLength == 0 && length > 0) {
      counters.malformed();
      return Verdict.DROPPED;
    }
    int end = chunkOffset + chunkLength;
    if (chunkOffset > prefix[rank] && prefix[rank] > 0 && sessions[rank] == sessionId) {
      counters.malformed();
      return Verdict.DROPPED;
    }
    if (chunkOffset > prefix[rank]) {
      held[rank] = true;
      return Verdict.HOLD;
    }
    if (!rankOrdered) {
      Verdict verdict =
          holdForRange(buffer, offset, frameLength, sessionId, image, rank, chunkOffset);
      if (verdict != null) {
        return verdict;
      }
    }
    if (!lowerRanksReached(rank, end)) {
      held[rank] = true;
      return Verdict.HOLD;
    }
    if (!VectorFrame.checksumMatches(buffer, offset, frameLength)) {
      counters.checksum();
      return Verdict.DROPPED;
    }
    if (rank == 0) {
      VectorFrame.setInto(buffer, offset, accumulator); // nothing is in this range yet
    } else {
      VectorFrame.addInto(buffer, offset, accumulator);
    }
    held[rank] = false;
    sessions[rank] = sessionId;
    if (chunkOffset == 0) {
      tokens[rank] = VectorFrame.tokenCount(buffer, offset);
      losses[rank] = VectorFrame.lossSum(buffer, offset);
    }
    prefix[rank] = end;
    if (end == length) {
      done[rank] = true;
      workersDone++;
    }
    counters.accepted(frameLength - VectorFrame.HEADER_LENGTH);
    return Verdict.ADDED;
  }

  /**
   * The fast path for a frame at its worker's prefix: checks it, holds it, and sums the range once
   * every worker's frame of it is held. Returns null when the gather has fallen back to
   * rank-ordered adds (this frame then goes that way too).
   */
  private Verdict holdForRange(
      DirectBuffer buffer,
      int offset,
      int frameLength,
      int sessionId,
      Image image,
      int rank,
      int chunkOffset) {
    int count = VectorFrame.chunkLength(buffer, offset);
    if (pending[rank]
        && pendingBuffer[rank] == buffer
        && pendingOffset[rank] == offset
        && pendingSession[rank] == sessionId
        && pendingChunk[rank] == chunkOffset) {
      return Verdict.HOLD; // the held frame, offered again: checked already
    }
    if (VectorFrame.dtype(buffer, offset) != WireDtype.FP32) {
      fallBackToRankOrder();
      return null;
    }
    if (!VectorFrame.checksumMatches(buffer, offset, frameLength)) {
      counters.checksum();
      pending[rank] = false;
      return Verdict.DROPPED;
    }
    for (int r = 0; r < pending.length; r++) {
      if (r != rank
          && (done[r]
              || prefix[r] != chunkOffset
              || (pending[r] && (pendingChunk[r] != chunkOffset || pendingCount[r] != count)))) {
        fallBackToRankOrder(); // the workers chunk differently: sum rank by rank
        return null;
      }
    }
    pendingBuffer[rank] = buffer;
    pendingOffset[rank] = offset;
    pendingFrameLength[rank] = frameLength;
    pendingChunk[rank] = chunkOffset;
    pendingCount[rank] = count;
    pendingSession[rank] = sessionId;
    pendingImage[rank] = image;
    pending[rank] = true;
    held[rank] = true;
    for (int r = 0; r < pending.length; r++) {
      if (!pending[r]) {
        return Verdict.HOLD;
      }
      if (r != rank && !stillHeld(r)) {
        pending[r] = false; // its image closed (the worker went away): nothing more comes from it
        return Verdict.HOLD;
      }
    }
    sumRange(chunkOffset, count);
    for (int r = 0; r < pending.length; r++) {
      pending[r] = false;
      pendingBuffer[r] = null;
      pendingImage[r] = null;
      held[r] = false;
      if (r != rank) {
        summedAhead[r] = chunkOffset;
        summedAheadSession[r] = pendingSession[r];
      }
    }
    return Verdict.ADDED;
  }

  /**
   * Frames the fast path summed while they were held and that their images will still offer once:
   * after the gather ends they must leave quietly, not count as duplicates.
   */
  public SummedAhead summedAhead() {
    int count = 0;
    for (int offset : summedAhead) {
      count += offset >= 0 ? 1 : 0;
    }
    long[] keys = new long[count];
    int[] offsets = new int[count];
    int[] sessionIds = new int[count];
    for (int r = 0, k = 0; r < summedAhead.length; r++) {
      if (summedAhead[r] >= 0) {
        keys[k] = workerKeys[r];
        offsets[k] = summedAhead[r];
        sessionIds[k++] = summedAheadSession[r];
      }
    }
    return new SummedAhead(keys, offsets, sessionIds);
  }

  /** See {@link #summedAhead()}; {@link #take} is true once per such frame. */
  public static final class SummedAhead {
    static final SummedAhead NONE = new SummedAhead(new long[0], new int[0], new int[0]);
    private final long[] workerKeys;
    private final int[] offsets;
    private final int[] sessionIds;

    private SummedAhead(long[] workerKeys, int[] offsets, int[] sessionIds) {
      this.workerKeys = workerKeys;
      this.offsets = offsets;
      this.sessionIds = sessionIds;
    }

    /** Whether the frame is one of these; a frame is taken only once. */
    public boolean take(long workerKey, int chunkOffset, int sessionId) {
      for (int k = 0; k < workerKeys.length; k++) {
        if (workerKeys[k] == workerKey && offsets[k] == chunkOffset && sessionIds[k] == sessionId) {
          offsets[k] = -1;
          return true;
        }
      }
      return false;
    }
  }

  /** A held frame may be read only while its image's term buffer is still mapped. */
  private boolean stillHeld(int r) {
    Image image = pendingImage[r];
    if (image != null && image.isClosed()) {
      return false;
    }
    DirectBuffer buffer = pendingBuffer[r];
    int offset = pendingOffset[r];
    return VectorFrame.senderKey(buffer, offset) == workerKeys[r]
        && VectorFrame.chunkOffset(buffer, offset) == pendingChunk[r];
  }

  /** Sums every worker's held frame of one range into the accumulator, in rank order. */
  private void sumRange(int at, int count) {
    int n = pending.length;
    VectorFrame.sumFp32(
        accumulator,
        at,
        count,
        pendingBuffer[0],
        pendingOffset[0],
        pendingBuffer[1],
        pendingOffset[1]);
    for (int r = 2; r < n; r++) {
      VectorFrame.addInto(pendingBuffer[r], pendingOffset[r], accumulator);
    }
    for (int r = 0; r < n; r++) {
      int offset = pendingOffset[r];
      if (at == 0) {
        tokens[r] = VectorFrame.tokenCount(pendingBuffer[r], offset);
        losses[r] = VectorFrame.lossSum(pendingBuffer[r], offset);
      }
      sessions[r] = pendingSession[r];
      prefix[r] = at + count;
      if (prefix[r] == length) {
        done[r] = true;
        workersDone++;
      }
      counters.accepted(pendingFrameLength[r] - VectorFrame.HEADER_LENGTH);
    }
  }

  /** From now on this gather adds rank by rank; frames held so far are offered again by Aeron. */
  private void fallBackToRankOrder() {
    rankOrdered = true;
    Arrays.fill(pending, false);
    Arrays.fill(pendingBuffer, null);
    Arrays.fill(pendingImage, null);
  }

  /** The array this gather sums into (the agent reuses it after a gather that timed out). */
  float[] accumulator() {
    return accumulator;
  }

  public boolean isComplete() {
    return workersDone == workerIds.length;
  }

  /**
   * The sum; call once, when {@link #isComplete()}. Token counts and loss sums are added in rank
   * order too.
   */
  public ReducedGradient result() {
    if (!isComplete()) {
      throw new IllegalStateException(
          "gather for job "
              + jobId
              + " step "
              + step
              + " is not complete; missing "
              + incomplete());
    }
    long tokenSum = 0;
    double lossSum = 0;
    for (int r = 0; r < workerIds.length; r++) {
      tokenSum += tokens[r];
      lossSum += losses[r];
    }
    return new ReducedGradient(
        jobId, step, round, accumulator, tokenSum, lossSum, List.of(workerIds));
  }

  /** Workers whose whole vector has not been added yet, in rank order. */
  public Set<String> incomplete() {
    Set<String> missing = new LinkedHashSet<>();
    for (int r = 0; r < workerIds.length; r++) {
      if (!done[r]) {
        missing.add(workerIds[r]);
      }
    }
    return missing;
  }

  /** Incomplete workers from which nothing was added and no frame is waiting. */
  public Set<String> silent() {
    Set<String> silent = new LinkedHashSet<>();
    for (int r = 0; r < workerIds.length; r++) {
      if (!done[r] && prefix[r] == 0 && !held[r]) {
        silent.add(workerIds[r]);
      }
    }
    return silent;
  }

  /** The expected workers in rank order. */
  public List<String> workers() {
    return new ArrayList<>(List.of(workerIds));
  }

  private int rankOf(long senderKey) {
    for (int r = 0; r < workerKeys.length; r++) {
      if (workerKeys[r] == senderKey) {
        return r;
      }
    }
    return -1;
  }

  private boolean lowerRanksReached(int rank, int end) {
    for (int k = 0; k < rank; k++) {
      if (!done[k] && prefix[k] < end) {
        return false;
      }
    }
    return true;
  }
}
