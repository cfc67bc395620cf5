package dev.lorafleet.common.protocol;

/** Worker → coordinator: the job cannot run on this worker, and why (naming node and path). */
public record JobPrepareFailed(String jobId, String workerId, String message)
    implements ControlMessage {}
