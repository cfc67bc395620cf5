package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: the job is ready on this worker.
 *
 * @param trainExampleCounts usable examples per training dataset, in spec order
 * @param evalExampleCounts usable examples per eval set, in spec order
 * @param adapterLength number of floats in the adapter layout
 * @param modelConfigJson the base model's {@code config.json} as found on the worker (the
 *     coordinator needs the layout to write PEFT checkpoints but may not hold the model itself)
 */
public record JobPrepared(
    String jobId,
    String workerId,
    int[] trainExampleCounts,
    int[] evalExampleCounts,
    int adapterLength,
    String modelConfigJson)
    implements ControlMessage {}
