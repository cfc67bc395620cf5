package dev.lorafleet.common.protocol;

/** Worker → coordinator: this worker could not compute its share of a step. */
public record StepFailed(
    String jobId, long step, long membershipEpoch, String workerId, String message)
    implements ControlMessage {}
