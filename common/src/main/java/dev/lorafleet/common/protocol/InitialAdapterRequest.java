package dev.lorafleet.common.protocol;

/**
 * Coordinator → one worker: send the job's freshly initialised adapter (Kaiming-uniform A, zero B,
 * from the job's seed) over the data plane as the gather of {@code (step 0, round 0)} with a token
 * count of 0. The coordinator takes its fp32 master copy from it, so the initialisation lives in
 * one place (the trainer) and the coordinator needs no model weights.
 */
public record InitialAdapterRequest(String jobId, long seed) implements ControlMessage {}
