package dev.lorafleet.worker.transport;

/**
 * One version of a job's adapter parameters, as broadcast by the coordinator.
 *
 * @param jobId the job
 * @param step the version: the parameters to train step {@code step} with
 * @param values the parameters in the adapter layout. The data plane owns this array and reuses it
 *     for a later version: copy what you need before the next call to {@code awaitParameters} or
 *     {@code pollParameters}.
 */
public record AdapterParameters(String jobId, long step, float[] values) {}
