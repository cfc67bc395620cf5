package dev.lorafleet.common.plan;

/**
 * The activation memory of one micro-batch at the peak of a training step, split by where it comes
 * from. Every field is bytes for the whole micro-batch over all layers.
 *
 * @param microBatchSize sequences in the micro-batch
 * @param seqLen tokens per sequence (every sequence is counted at full length)
 * @param norms the fp32 copies RMSNorm keeps of its input (2 per layer, plus Qwen3's q/k norms)
 * @param attentionProjections q, k and v after RoPE, kept by the two attention matmuls (k and v at
 *     their grouped-query size: the worker does not repeat them)
 * @param attentionScores the materialised {@code seq × seq} softmax of every head (fp32) and its
 *     bf16 copy for the matmul with v
 * @param mlp the SwiGLU's gate, σ(gate), their product and the up projection
 * @param lora the LoRA paths' fp32 inputs (with dropout: keep-masks and dropped inputs) and {@code
 *     s·A·x}
 * @param lossHead the final norm's input and the loss over the vocabulary (fp32 log-softmax kept,
 *     plus its incoming and outgoing gradients while its backward runs)
 */
public record Activations(
    int microBatchSize,
    int seqLen,
    long norms,
    long attentionProjections,
    long attentionScores,
    long mlp,
    long lora,
    long lossHead) {

  /** All activation bytes. */
  public long total() {
    return norms + attentionProjections + attentionScores + mlp + lora + lossHead;
  }
}
