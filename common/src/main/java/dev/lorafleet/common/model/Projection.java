package dev.lorafleet.common.model;

import java.util.Locale;

/**
 * The seven linear projections of a Llama-family decoder layer, in the fixed order the adapter
 * layout uses. Each knows its Hugging Face / PEFT name and its parent module.
 */
public enum Projection {
  Q_PROJ("self_attn"),
  K_PROJ("self_attn"),
  V_PROJ("self_attn"),
  O_PROJ("self_attn"),
  GATE_PROJ("mlp"),
  UP_PROJ("mlp"),
  DOWN_PROJ("mlp");

  private final String parent;
  private final String hfName;

  Projection(String parent) {
    this.parent = parent;
    this.hfName = name().toLowerCase(Locale.ROOT);
  }

  /** {@code q_proj}, {@code gate_proj}, … */
  public String hfName() {
    return hfName;
  }

  /** {@code self_attn} or {@code mlp}. */
  public String parent() {
    return parent;
  }

  /** The module path inside a layer: {@code self_attn.q_proj}. */
  public String path() {
    return parent + "." + hfName;
  }

  /** The projection for {@code q_proj} etc., or null. */
  public static Projection fromHfName(String name) {
    for (Projection p : values()) {
      if (p.hfName.equals(name)) {
        return p;
      }
    }
    return null;
  }
}
