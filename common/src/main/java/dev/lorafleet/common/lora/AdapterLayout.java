package dev.lorafleet.common.lora;

import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where every adapter tensor lives in the one flat float vector that parameters, gradients and
 * optimizer moments share: ordered by layer, then projection (q, k, v, o, gate, up, down), A before
 * B; each tensor row-major. Two processes that build the layout from the same model and LoRA config
 * agree on every offset.
 */
public final class AdapterLayout {

  /** Which of the pair. */
  public enum Kind {
    A,
    B
  }

  /**
   * One adapter tensor.
   *
   * @param rows {@code r} for A, {@code out} for B
   * @param cols {@code in} for A, {@code r} for B
   * @param offset first element in the flat vector
   */
  public record Entry(int layer, Projection module, Kind kind, int rows, int cols, int offset) {
    /** Number of elements. */
    public int size() {
      return rows * cols;
    }

    /** The shape {@code [rows, cols]} as PEFT stores it. */
    public long[] shape() {
      return new long[] {rows, cols};
    }

    /**
     * The key PEFT writes: {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}.
     */
    public String peftKey() {
      return peftPrefix(layer, module) + ".lora_" + kind + ".weight";
    }
  }

  private final ModelConfig model;
  private final LoraConfig lora;
  private final List<Entry> entries;
  private final Map<String, Entry> byKey;
  private final int size;

  private AdapterLayout(ModelConfig model, LoraConfig lora) {
    this.model = model;
    this.lora = lora;
    List<Entry> list = new ArrayList<>();
    Map<String, Entry> keys = new HashMap<>();
    long offset = 0;
    int r = lora.r();
    for (int layer = 0; layer < model.numHiddenLayers(); layer++) {
      for (Projection p : lora.projections()) {
        Entry a = new Entry(layer, p, Kind.A, r, model.inFeatures(p), (int) offset);
        offset += a.size();
        Entry b = new Entry(layer, p, Kind.B, model.outFeatures(p), r, (int) offset);
        offset += b.size();
        if (offset > Integer.MAX_VALUE - 8) {
          throw new IllegalArgumentException(
              "the adapter has more than 2^31 parameters (r="
                  + r
                  + "), more than one flat vector can hold; lower r or target fewer modules");
        }
        list.add(a);
        list.add(b);
        keys.put(a.peftKey(), a);
        keys.put(b.peftKey(), b);
      }
    }
    this.entries = Collections.unmodifiableList(list);
    this.byKey = Collections.unmodifiableMap(keys);
    this.size = (int) offset;
  }

  /** The layout for a model and a LoRA config. */
  public static AdapterLayout of(ModelConfig model, LoraConfig lora) {
    return new AdapterLayout(model, lora);
  }

  public ModelConfig model() {
    return model;
  }

  public LoraConfig lora() {
    return lora;
  }

  /** Entries in vector order. */
  public List<Entry> entries() {
    return entries;
  }

  /** Length of the flat vector. */
  public int size() {
    return size;
  }

  /** The entry for a layer's projection and kind. */
  public Entry entry(int layer, Projection module, Kind kind) {
    Entry e = byKey.get(peftPrefix(layer, module) + ".lora_" + kind + ".weight");
    if (e == null) {
      throw new IllegalArgumentException(
          "the adapter has no " + module.hfName() + " lora_" + kind + " in layer " + layer);
    }
    return e;
  }

  /** Whether a layer's projection carries an adapter. */
  public boolean targets(Projection module) {
    return lora.projections().contains(module);
  }

  /** The entry for a PEFT key (without {@code .default}), or null. */
  public Entry byPeftKey(String key) {
    return byKey.get(key);
  }

  /** {@code base_model.model.model.layers.{i}.self_attn.q_proj} */
  public static String peftPrefix(int layer, Projection module) {
    return "base_model.model.model.layers." + layer + "." + module.path();
  }

  /** A copy of one entry's values out of a flat vector. */
  public float[] slice(float[] vector, Entry e) {
    float[] out = new float[e.size()];
    System.arraycopy(vector, e.offset(), out, 0, out.length);
    return out;
  }
}
