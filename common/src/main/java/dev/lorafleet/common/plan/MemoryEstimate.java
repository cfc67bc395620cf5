package dev.lorafleet.common.plan;

/**
 * What one GPU holds at the peak of a training step (the start of backward, when every layer's
 * activations are alive), in bytes.
 *
 * @param weights the frozen base model, one whole replica per GPU
 * @param adapter the LoRA A and B matrices in fp32
 * @param gradients the adapter's fp32 gradients, accumulated over micro-batches
 * @param optimizer AdamW state on the GPU: zero in lorafleet, whose coordinator steps the optimizer
 *     on its fp32 master copy (see {@link TrainingPlan#coordinatorBytes()})
 * @param activations what autograd keeps for backward, by part
 * @param overhead CUDA context, libraries and allocator slack
 */
public record MemoryEstimate(
    long weights,
    long adapter,
    long gradients,
    long optimizer,
    Activations activations,
    long overhead) {

  /** Everything together: what the GPU must have. */
  public long total() {
    return weights + adapter + gradients + optimizer + activations.total() + overhead;
  }
}
