package dev.lorafleet.common.protocol;

/**
 * Coordinator → worker: compute the gradient sum of these examples with the parameters of {@code
 * step} and send it over the data plane. Fenced by step and membership epoch: a worker's late
 * answer to an older (step, epoch) is ignored.
 *
 * @param jobId the job
 * @param step the global step (0-based)
 * @param round the data plane's gather round within the step (a step planned again after a worker
 *     left gets a higher round; frames of older rounds are dropped)
 * @param membershipEpoch the worker set the assignment was planned for
 * @param exampleIndices global training example indices (across datasets in spec order)
 * @param stepSeed seed for this step's dropout masks
 */
public record StepAssignment(
    String jobId, long step, int round, long membershipEpoch, int[] exampleIndices, long stepSeed)
    implements ControlMessage {}
