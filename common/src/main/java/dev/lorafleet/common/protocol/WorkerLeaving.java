package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: this worker was told to go (SIGTERM, a spot notice) and leaves the cluster
 * within {@code graceMillis}; it still finishes the shares it already has. Plan later steps without
 * it.
 */
public record WorkerLeaving(String jobId, String workerId, long graceMillis)
    implements ControlMessage {}
