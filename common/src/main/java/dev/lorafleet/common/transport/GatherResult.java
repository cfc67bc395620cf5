package dev.lorafleet.common.transport;

import java.util.Set;

/** How a {@code gather} ended: every expected vector arrived, or the deadline passed first. */
public sealed interface GatherResult {

  String jobId();

  long step();

  /** Every expected worker's whole vector arrived and was added. */
  record Complete(ReducedGradient gradient) implements GatherResult {
    @Override
    public String jobId() {
      return gradient.jobId();
    }

    @Override
    public long step() {
      return gradient.step();
    }
  }

  /**
   * The deadline passed before every vector arrived. No usable sum comes with it: the coordinator
   * decides (reassign the step's share to the live workers and gather again, usually with a new
   * {@code round}).
   *
   * @param incomplete every expected worker whose whole vector had not arrived
   * @param silent the subset of {@code incomplete} from which not one valid frame arrived and none
   *     is waiting: most likely dead or partitioned (the others were still sending)
   */
  record TimedOut(String jobId, long step, int round, Set<String> incomplete, Set<String> silent)
      implements GatherResult {}
}
