package dev.lorafleet.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.model.Projection;

/**
 * One step's adapter on one device: a single flat array in adapter layout (the autograd leaf whose
 * gradient is the step's result) and, per layer and projection, views of A and B into it.
 */
public final class AdapterViews {
  private final NDArray flat;
  private final NDArray[][] a;
  private final NDArray[][] b;

  /**
   * Slices {@code flat} (which must have the layout's size) into A/B views. The views belong to the
   * flat array's manager and close with it.
   */
  public AdapterViews(NDArray flat, AdapterLayout layout) {
    if (flat.size() != layout.size()) {
      throw new IllegalArgumentException(
          "adapter has " + flat.size() + " values, the layout needs " + layout.size());
    }
    this.flat = flat;
    int layers = layout.model().numHiddenLayers();
    int modules = Projection.values().length;
    this.a = new NDArray[layers][modules];
    this.b = new NDArray[layers][modules];
    for (AdapterLayout.Entry e : layout.entries()) {
      NDArray view =
          flat.get(new NDIndex("{}:{}", (long) e.offset(), (long) e.offset() + e.size()))
              .reshape(e.rows(), e.cols());
      if (e.kind() == AdapterLayout.Kind.A) {
        a[e.layer()][e.module().ordinal()] = view;
      } else {
        b[e.layer()][e.module().ordinal()] = view;
      }
    }
  }

  /** The flat array (the autograd leaf when training). */
  public NDArray flat() {
    return flat;
  }

  /** A of a layer's projection, or null when it carries no adapter. */
  public NDArray a(int layer, Projection p) {
    return a[layer][p.ordinal()];
  }

  /** B of a layer's projection, or null when it carries no adapter. */
  public NDArray b(int layer, Projection p) {
    return b[layer][p.ordinal()];
  }
}
