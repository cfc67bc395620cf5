package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: the job is ready on this worker.
 *
 * @param trainExampleCounts usable examples per training dataset, in spec order
 * @param evalExampleCounts usable examples per eval set, in spec order
 * @param adapterLength number of floats in the adapter layout
 */
public record JobPrepared(
    String jobId,
    String workerId,
    int[] trainExampleCounts,
    int[] evalExampleCounts,
    int adapterLength)
    implements ControlMessage {}
