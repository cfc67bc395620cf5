package dev.lorafleet.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Scalar operands that outlive the backward pass.
 *
 * <p>DJL's {@code NDArray.mul(Number)} (and {@code add}, {@code div}, {@code pow} with a number)
 * wraps the number in a temporary array over a direct buffer and closes it as soon as the operation
 * returns. Autograd keeps the scalar for the backward pass, but once the Java buffer is collected
 * the backward pass reads freed memory: rare, garbage or NaN gradients. Every scalar on a path that
 * is differentiated is therefore made here, in the micro-batch's manager, which stays open until
 * after {@code backward}.
 */
public final class Scalars {
  private Scalars() {}

  /** A 0-dimensional array of {@code type} holding {@code value}, owned by {@code scope}. */
  public static NDArray of(NDManager scope, double value, DataType type) {
    NDArray v = scope.create(value);
    return type == DataType.FLOAT64 ? v : v.toType(type, false);
  }
}
