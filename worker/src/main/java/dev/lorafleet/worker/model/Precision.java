package dev.lorafleet.worker.model;

import ai.djl.ndarray.types.DataType;

/**
 * How a replica stores and computes: the frozen base weights' type, and the adapter's. RMSNorm and
 * softmax always run in at least fp32, as in Hugging Face.
 */
public enum Precision {
  /** The CPU default: everything fp32. */
  FLOAT32(DataType.FLOAT32, DataType.FLOAT32),
  /** Everything fp64: exact references for gradient checks in tests. */
  FLOAT64(DataType.FLOAT64, DataType.FLOAT64),
  /** The GPU default: frozen weights and activations bf16, adapters fp32. */
  BF16(DataType.BFLOAT16, DataType.FLOAT32);

  private final DataType weights;
  private final DataType adapter;

  Precision(DataType weights, DataType adapter) {
    this.weights = weights;
    this.adapter = adapter;
  }

  /** Type of the frozen weights and of the hidden states. */
  public DataType weights() {
    return weights;
  }

  /** Type of the LoRA matrices and their gradients. */
  public DataType adapter() {
    return adapter;
  }

  /** Type that norms, softmax and the loss are computed in. */
  public DataType accumulate() {
    return this == FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
  }
}
