package dev.lorafleet.common.protocol;

/**
 * Coordinator → worker: evaluate the adapter of {@code step} on these examples of one eval set.
 *
 * @param evalIndex which eval set (spec order)
 * @param exampleIndices indices into that eval set
 */
public record EvalAssignment(
    String jobId, long step, long membershipEpoch, int evalIndex, int[] exampleIndices)
    implements ControlMessage {}
