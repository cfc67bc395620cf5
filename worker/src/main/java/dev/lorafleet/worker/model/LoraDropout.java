package dev.lorafleet.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lorafleet.common.model.Projection;

/**
 * Dropout on the LoRA path whose mask depends only on (step seed, example index, layer, projection,
 * token position, feature) — never on which other examples share the micro-batch, the worker or the
 * device. That is what lets the coordinator split a step over any number of workers and still get
 * the same gradient.
 *
 * <p>The mask is computed on the device by an integer hash of the element's coordinates (int64
 * arithmetic modulo the Mersenne prime 2³¹−1, with two squaring rounds for non-linearity), so it
 * costs a few element-wise operations and no host-to-device copy.
 */
public final class LoraDropout {
  private static final long M = 2147483647L; // 2^31 - 1

  private final float p;
  private final long stepSeed;
  private final int[] exampleIndex;

  /**
   * @param p dropout probability, in [0, 1)
   * @param stepSeed the step's seed
   * @param exampleIndex per batch row, the example's global index
   */
  public LoraDropout(float p, long stepSeed, int[] exampleIndex) {
    this.p = p;
    this.stepSeed = stepSeed;
    this.exampleIndex = exampleIndex.clone();
  }

  /** Whether the dropout does anything. */
  public boolean active() {
    return p > 0;
  }

  /**
   * The keep mask for the input of one projection, {@code [B, T, in]}, already scaled by {@code
   * 1/(1-p)}, in {@code type}.
   */
  public NDArray mask(
      NDManager manager, int layer, Projection module, int seqLen, int inFeatures, DataType type) {
    int rows = exampleIndex.length;
    long[] seeds = new long[rows];
    for (int i = 0; i < rows; i++) {
      seeds[i] = Math.floorMod(mix(stepSeed, exampleIndex[i], layer, module.ordinal()), M);
    }
    long n = (long) seqLen * inFeatures;
    NDArray idx = manager.arange(0L, n, 1L, DataType.INT64).reshape(1, n);
    NDArray v = idx.add(manager.create(seeds, new Shape(rows, 1))).mod(M);
    v = v.mul(48271L).mod(M);
    v = v.mul(v).add(0x2545F491L).mod(M);
    v = v.mul(16807L).add(0x9E3779B1L).mod(M);
    v = v.mul(v).add(0x632BE5ABL).mod(M);
    NDArray uniform = v.toType(DataType.FLOAT64, false).div((double) M);
    // the mask is saved for the backward pass, and so is a scalar it is multiplied by: keep
    // every operand in the micro-batch's manager (see Scalars)
    NDArray keep =
        uniform.gte((double) p).toType(type, false).mul(Scalars.of(manager, 1.0 / (1.0 - p), type));
    return keep.reshape(rows, seqLen, inFeatures);
  }

  /** SplitMix64 over the four coordinates. */
  static long mix(long seed, long example, long layer, long module) {
    long z = seed;
    z = splitMix(z ^ splitMix(example + 0x9E3779B97F4A7C15L));
    z = splitMix(z ^ splitMix(layer * 0xBF58476D1CE4E5B9L + 1));
    z = splitMix(z ^ splitMix(module * 0x94D049BB133111EBL + 2));
    return z;
  }

  private static long splitMix(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
