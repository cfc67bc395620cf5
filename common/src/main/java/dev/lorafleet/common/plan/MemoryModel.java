package dev.lorafleet.common.plan;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import java.util.List;
import java.util.Locale;

/**
 * Estimates the memory one GPU needs to train a LoRA adapter the way a lorafleet worker does
 * ({@code worker.model.DecoderModel} and {@code worker.training.ShardTrainer}): a whole bf16
 * replica of the frozen model per GPU (data parallel, no sharding), a fp32 adapter and gradient,
 * eager attention without gradient checkpointing, and the AdamW state on the coordinator rather
 * than on the GPU.
 *
 * <p>Activations are what autograd keeps for backward, counted tensor by tensor for one decoder
 * layer as the worker computes it. Backward has to run through every frozen layer to reach the
 * adapters of the layers below, but a frozen weight needs no gradient, so a frozen linear layer
 * keeps nothing of its input; what remains per token and layer is:
 *
 * <pre>
 * RMSNorm ×2 (input upcast to fp32, kept by square and div)     2 · 4·hidden
 * Qwen3 q/k RMSNorm                                              4·(heads + kvHeads)·headDim
 * attention matmuls: q, k, v after RoPE (bf16; GQA is done by    2·(heads + 2·kvHeads)·headDim
 *   stacking a group's queries, so k and v are not repeated)
 * eager attention: softmax output, fp32 + its bf16 copy          (4 + 2)·heads·seqLen
 * SwiGLU as g·σ(g)·up: gate, σ(gate), g·σ(g), up (bf16)          4 · 2·intermediate
 * LoRA per targeted module: input cast to the fp32 adapter;      4·in, or 8·in with dropout,
 *   with dropout the fp32 keep-mask and the dropped input        + 4·r
 *   instead; (s·A·x) for B's gradient
 * </pre>
 *
 * plus, once per token, the final norm ({@code 4·hidden}) and the loss head, which the worker runs
 * only over response tokens: a fp32 log-softmax over the vocabulary kept for backward, and at the
 * peak its incoming and outgoing fp32 gradients ({@code 12·vocab}); counted as if every token
 * carried loss, an upper bound. Transient tensors of the forward pass (the pre-softmax scores, the
 * bf16 logits) are freed before this peak and are covered by the allocator slack.
 *
 * <p>Why these differ from published 16-bit LoRA figures (7B ≈ 16 GB, 14B ≈ 32 GB, 70B ≈ 160 GB,
 * LLaMA-Factory's table): those are about 2.2 bytes per parameter, i.e. the bf16 weights plus a
 * 10–20 % allowance, and assume FlashAttention/SDPA and gradient checkpointing, under which
 * activations are small. This estimate keeps the {@code seq × seq} scores of eager attention and
 * every layer's activations, so it matches them for short sequences and grows well beyond them for
 * long ones; and 70B is one replica per GPU here (no sharding across GPUs as with DeepSpeed ZeRO-3
 * / FSDP behind the published figure).
 */
public final class MemoryModel {
  /** bf16: the dtype of frozen weights and of activations on the GPU. */
  public static final int COMPUTE_BYTES = 2;

  /** fp32: the adapter, its gradients and the upcasts of RMSNorm, softmax and the loss. */
  public static final int FP32_BYTES = 4;

  /** CUDA context, cuBLAS workspace, libtorch kernels and DJL: a fixed cost per GPU process. */
  public static final long CONTEXT_BYTES = 1L << 30;

  /** The caching allocator's fragmentation and transient forward tensors, on top of activations. */
  public static final double ALLOCATOR_SLACK = 0.10;

  /** Bytes per vocabulary entry per token at the loss head's peak (log-softmax + 2 gradients). */
  static final int LOSS_HEAD_BYTES_PER_VOCAB = 3 * FP32_BYTES;

  private MemoryModel() {}

  /** The estimate for a micro-batch of {@code microBatchSize} sequences of {@code seqLen}. */
  public static MemoryEstimate estimate(
      ModelConfig model, LoraConfig lora, int microBatchSize, int seqLen) {
    if (microBatchSize < 0 || seqLen < 1) {
      throw new IllegalArgumentException(
          "need microBatchSize >= 0 and seqLen >= 1, got " + microBatchSize + ", " + seqLen);
    }
    long trainable = lora.trainableParameters(model);
    Activations activations = activations(model, lora, microBatchSize, seqLen);
    long overhead = CONTEXT_BYTES + Math.round(ALLOCATOR_SLACK * activations.total());
    return new MemoryEstimate(
        model.parameterCount() * COMPUTE_BYTES,
        trainable * FP32_BYTES,
        trainable * FP32_BYTES,
        0,
        activations,
        overhead);
  }

  /** What autograd keeps for backward, by part (see the class comment for the per-token sums). */
  public static Activations activations(
      ModelConfig model, LoraConfig lora, int microBatchSize, int seqLen) {
    long tokens = (long) microBatchSize * seqLen;
    long layers = model.numHiddenLayers();
    long heads = model.numAttentionHeads();
    long norms = 2L * FP32_BYTES * model.hiddenSize();
    if (model.qkNorm()) {
      norms += (long) FP32_BYTES * (heads + model.numKeyValueHeads()) * model.headDim();
    }
    long projections =
        (long) COMPUTE_BYTES * (heads + 2L * model.numKeyValueHeads()) * model.headDim();
    long scores = (long) (FP32_BYTES + COMPUTE_BYTES) * heads * seqLen;
    long mlp = 4L * COMPUTE_BYTES * model.intermediateSize();
    long loraPath = 0;
    int inputCopies = lora.dropout() > 0 ? 2 : 1;
    for (Projection p : lora.projections()) {
      loraPath += (long) inputCopies * FP32_BYTES * model.inFeatures(p);
      loraPath += (long) FP32_BYTES * lora.r();
    }
    long lossHead =
        (long) FP32_BYTES * model.hiddenSize()
            + (long) LOSS_HEAD_BYTES_PER_VOCAB * model.vocabSize();
    return new Activations(
        microBatchSize,
        seqLen,
        norms * layers * tokens,
        projections * layers * tokens,
        scores * layers * tokens,
        mlp * layers * tokens,
        loraPath * layers * tokens,
        lossHead * tokens);
  }

  /**
   * The largest micro-batch of {@code seqLen} tokens that fits in {@code capacityBytes}, at most
   * {@code limit}; 0 when not even the model fits.
   */
  public static int maxMicroBatchSize(
      ModelConfig model, LoraConfig lora, int seqLen, long capacityBytes, int limit) {
    if (estimate(model, lora, 1, seqLen).total() > capacityBytes) {
      return 0;
    }
    int lo = 1;
    int hi = Math.max(1, limit);
    if (estimate(model, lora, hi, seqLen).total() <= capacityBytes) {
      return hi;
    }
    while (hi - lo > 1) { // invariant: lo fits, hi does not
      int mid = lo + (hi - lo) / 2;
      if (estimate(model, lora, mid, seqLen).total() <= capacityBytes) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** The assumptions behind {@link #estimate}, as sentences with this model's numbers. */
  public static List<String> assumptions(
      ModelConfig model, LoraConfig lora, int microBatchSize, int seqLen) {
    return List.of(
        String.format(
            Locale.ROOT,
            "frozen weights: %,d parameters in bf16 (2 bytes each) on every GPU, whatever the"
                + " checkpoint's dtype (%s); each GPU holds a whole replica (data parallel, no"
                + " sharding or tensor parallelism)",
            model.parameterCount(),
            model.torchDtype()),
        "adapter: fp32 A and B (4 bytes each) and their fp32 gradients (4 bytes) on every GPU;"
            + " the AdamW moments and the fp32 master copy live on the coordinator, not on the GPU",
        String.format(
            Locale.ROOT,
            "activations for micro-batch %d × %d tokens (every sequence counted at maxSeqLen),"
                + " eager attention (the %d×%d scores of each of %d heads are materialised) and no"
                + " gradient checkpointing: the peak is the start of backward, when every layer's"
                + " activations are alive",
            microBatchSize,
            seqLen,
            seqLen,
            seqLen,
            model.numAttentionHeads()),
        "kept per layer and token: RMSNorm inputs in fp32, q/k/v (not repeated for GQA) for the"
            + " attention matmuls in bf16, the softmax in fp32 plus its bf16 copy, the SwiGLU's"
            + " gate, σ(gate), product and up in bf16, and per LoRA module its input cast to fp32"
            + " (with dropout: the fp32 keep-mask and the dropped input) and s·A·x; frozen linear"
            + " layers keep nothing of their input (no weight gradient)",
        "loss head: 12 bytes per vocabulary entry per token (fp32 log-softmax kept, plus its"
            + " fp32 gradients in and out during backward), counted for every token although the"
            + " worker runs it over response tokens only: an upper bound",
        String.format(
            Locale.ROOT,
            "overhead: %.1f GiB for the CUDA context, cuBLAS and libtorch kernels, plus %.0f%% of"
                + " the activations for allocator fragmentation and transient forward tensors",
            CONTEXT_BYTES / (double) (1L << 30),
            ALLOCATOR_SLACK * 100));
  }
}
