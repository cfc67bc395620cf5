package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import java.util.ArrayList;
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

  /**
   * Begins a gather.
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
    this.accumulator = new float[length];
    this.counters = counters;
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
    if (chunkOffset > prefix[rank] || !lowerRanksReached(rank, end)) {
      held[rank] = true;
      return Verdict.HOLD;
    }
    if (!VectorFrame.checksumMatches(buffer, offset, frameLength)) {
      counters.checksum();
      return Verdict.DROPPED;
    }
    VectorFrame.addInto(buffer, offset, accumulator);
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
