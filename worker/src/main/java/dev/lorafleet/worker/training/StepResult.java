package dev.lorafleet.worker.training;

/**
 * A worker's share of one training step: the sum over its loss tokens of the per-token loss
 * gradients (not the mean), in adapter layout, with the summed loss and the token count. The
 * coordinator adds the sums of all workers and divides by the total token count, which makes the
 * result independent of how the batch was split.
 */
public record StepResult(float[] gradientSum, double lossSum, long tokenCount, int examples) {}
