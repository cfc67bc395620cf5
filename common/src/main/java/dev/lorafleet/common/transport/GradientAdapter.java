package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import io.aeron.Image;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Decodes the frames on the coordinator's gradient subscription and routes them: gradients to the
 * job's {@link GradientReducer}, parameter requests to the agent. A frame the reducer cannot take
 * yet is left in Aeron's term buffer ({@link Action#ABORT}) and comes again on the next poll.
 */
final class GradientAdapter implements ControlledFragmentHandler {

  /** What the adapter needs from its agent. */
  interface Listener {
    /** Drains pending commands (a gather may have been asked for just now); returns how many. */
    int drainCommands();

    void onGatherComplete(CoordinatorJob job);

    void onParameterRequest(long jobKey, long minStep);
  }

  private final Long2ObjectHashMap<CoordinatorJob> jobs;
  private final TransportCounters counters;
  private final long maxVectorLength;
  private final Listener listener;

  GradientAdapter(
      Long2ObjectHashMap<CoordinatorJob> jobs,
      TransportCounters counters,
      long maxVectorLength,
      Listener listener) {
    this.jobs = jobs;
    this.counters = counters;
    this.maxVectorLength = maxVectorLength;
    this.listener = listener;
  }

  @Override
  public Action onFragment(DirectBuffer buffer, int offset, int length, Header header) {
    if (VectorFrame.validate(buffer, offset, length, maxVectorLength) != VectorFrame.Defect.OK) {
      counters.malformed();
      return Action.CONTINUE;
    }
    byte kind = VectorFrame.kind(buffer, offset);
    if (kind == VectorFrame.KIND_PARAMETER_REQUEST) {
      listener.onParameterRequest(
          VectorFrame.jobKey(buffer, offset), VectorFrame.step(buffer, offset));
      return Action.CONTINUE;
    }
    if (kind != VectorFrame.KIND_GRADIENT) {
      counters.malformed();
      return Action.CONTINUE;
    }
    long jobKey = VectorFrame.jobKey(buffer, offset);
    long step = VectorFrame.step(buffer, offset);
    int round = VectorFrame.round(buffer, offset);
    CoordinatorJob job = jobs.get(jobKey);
    if (job == null || isAhead(job, step, round)) {
      // the gather may have been asked for a moment ago: look at the commands before judging
      listener.drainCommands();
      job = jobs.get(jobKey);
      if (job == null) {
        counters.unknownJob();
        return Action.CONTINUE;
      }
    }
    if (job.isFinished(step, round)) {
      if (step == job.finishedStep
          && round == job.finishedRound
          && job.finishedAhead.take(
              VectorFrame.senderKey(buffer, offset),
              VectorFrame.chunkOffset(buffer, offset),
              header.sessionId())) {
        return Action.CONTINUE; // summed while it was held, before the gather completed
      }
      if (step == job.finishedStep && round == job.finishedRound && job.finishedComplete) {
        counters.duplicate();
      } else {
        counters.staleStep();
      }
      return Action.CONTINUE;
    }
    GradientReducer gather = job.gather;
    if (gather == null || gather.isNewerThanThis(step, round)) {
      return Action.ABORT; // the worker is ahead of the coordinator: wait for that gather
    }
    if (gather.isOlderThanThis(step, round)) {
      counters.staleStep();
      return Action.CONTINUE;
    }
    Image image = header.context() instanceof Image i ? i : null;
    return switch (gather.onFrame(buffer, offset, length, header.sessionId(), image)) {
      case ADDED -> {
        if (gather.isComplete()) {
          listener.onGatherComplete(job);
        }
        yield Action.CONTINUE;
      }
      case HOLD -> Action.ABORT;
      case DROPPED -> Action.CONTINUE;
    };
  }

  private static boolean isAhead(CoordinatorJob job, long step, int round) {
    GradientReducer gather = job.gather;
    return gather == null ? !job.isFinished(step, round) : gather.isNewerThanThis(step, round);
  }
}
