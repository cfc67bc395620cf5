package dev.lorafleet.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A frozen linear layer with an optional low-rank adapter: {@code y = W x + b + s·B(A·drop(x))},
 * {@code W: out×in} (Hugging Face layout), {@code A: r×in}, {@code B: out×r}, {@code s = α/r} (or
 * {@code α/√r} with rsLoRA).
 *
 * <p>{@code W} and {@code b} are this block's parameters and never take a gradient. {@code A} and
 * {@code B} arrive as inputs instead of parameters: each step they are views into one flat adapter
 * array, so the whole adapter crosses to the device in one copy and its gradient comes back in one
 * (a DJL parameter owns a single array for its lifetime). Inputs: {@code (x)} for the plain layer;
 * {@code (x, A, B)} or {@code (x, A, B, keepMask)} with the dropout mask already scaled by {@code
 * 1/(1-p)}. The LoRA path runs in the adapter's type (fp32 next to bf16 weights) and is cast back,
 * as PEFT does.
 */
public final class LoraLinear extends AbstractBlock {
  private final int inFeatures;
  private final int outFeatures;
  private final Parameter weight;
  private final Parameter bias;
  private final float scaling;

  /**
   * @param weight {@code out×in}, already on its device and in its final type
   * @param bias {@code out}, or null
   * @param scaling the LoRA scaling {@code s}
   */
  public LoraLinear(NDArray weight, NDArray bias, float scaling) {
    super((byte) 1);
    Shape shape = weight.getShape();
    this.outFeatures = Math.toIntExact(shape.get(0));
    this.inFeatures = Math.toIntExact(shape.get(1));
    this.scaling = scaling;
    this.weight =
        addParameter(
            Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optArray(weight)
                .optRequiresGrad(false)
                .build());
    this.bias =
        bias == null
            ? null
            : addParameter(
                Parameter.builder()
                    .setName("bias")
                    .setType(Parameter.Type.BIAS)
                    .optArray(bias)
                    .optRequiresGrad(false)
                    .build());
  }

  public int inFeatures() {
    return inFeatures;
  }

  public int outFeatures() {
    return outFeatures;
  }

  /** The frozen weight {@code W}. */
  public NDArray weight() {
    return weight.getArray();
  }

  /** The frozen bias, or null. */
  public NDArray bias() {
    return bias == null ? null : bias.getArray();
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore,
      NDList inputs,
      boolean training,
      PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDArray y = apply(x, weight.getArray(), bias == null ? null : bias.getArray());
    if (inputs.size() >= 3) {
      y = y.add(lora(x, inputs.get(1), inputs.get(2), inputs.size() > 3 ? inputs.get(3) : null));
    }
    return new NDList(y);
  }

  /** {@code s·B(A·drop(x))} in the adapter's type, cast back to {@code x}'s type. */
  NDArray lora(NDArray x, NDArray a, NDArray b, NDArray keepMask) {
    DataType compute = a.getDataType();
    NDArray in = x.getDataType() == compute ? x : x.toType(compute, false);
    if (keepMask != null) {
      in = in.mul(keepMask);
    }
    NDArray down = apply(in, a, null);
    NDArray out = apply(down.mul(Scalars.of(down.getManager(), scaling, compute)), b, null);
    return out.getDataType() == x.getDataType() ? out : out.toType(x.getDataType(), false);
  }

  /** {@code x Wᵀ + b} through PyTorch's fused linear. */
  static NDArray apply(NDArray x, NDArray w, NDArray b) {
    return Linear.linear(x, w, b).singletonOrThrow();
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape in = inputShapes[0];
    return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
  }

  @Override
  protected void prepare(Shape[] inputShapes) {
    long last = inputShapes[0].get(inputShapes[0].dimension() - 1);
    if (last != inFeatures) {
      throw new IllegalArgumentException(
          "LoraLinear expects " + inFeatures + " input features, got " + inputShapes[0]);
    }
  }

  @Override
  public String toString() {
    return "LoraLinear(" + inFeatures + " -> " + outFeatures + ", s=" + scaling + ")";
  }
}
