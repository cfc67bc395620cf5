package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import java.util.concurrent.CompletableFuture;

/** The coordinator agent's state for one job: its gather in progress and its current parameters. */
final class CoordinatorJob {
  final String jobId;
  final long key;

  GradientReducer gather;
  CompletableFuture<GatherResult> future;
  long deadlineNanos;

  /** The last gather that completed or timed out; its frames are duplicates now. */
  long finishedStep = -1;

  int finishedRound = -1;

  /** Whether that gather completed (its frames are duplicates) or timed out (they are stale). */
  boolean finishedComplete;

  /** Frames of the finished gather that were summed while held and are still to be offered. */
  GradientReducer.SummedAhead finishedAhead = GradientReducer.SummedAhead.NONE;

  /** A sum given back (or a timed-out gather's array): the next gather of its length uses it. */
  float[] spare;

  float[] parameters;
  long parameterStep = -1;

  /** A worker asked for the parameters while they were being sent: send them once more after. */
  boolean resendAfterCurrent;

  CoordinatorJob(String jobId) {
    this.jobId = jobId;
    this.key = VectorFrame.key(jobId);
  }

  /** Whether (step, round) is older than, or the same as, the last finished gather. */
  boolean isFinished(long step, int round) {
    return step < finishedStep || (step == finishedStep && round <= finishedRound);
  }
}
