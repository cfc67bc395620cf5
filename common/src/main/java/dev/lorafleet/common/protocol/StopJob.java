package dev.lorafleet.common.protocol;

/** Coordinator → worker: the job ended (or was cancelled); free what it holds. */
public record StopJob(String jobId, String reason) implements ControlMessage {}
