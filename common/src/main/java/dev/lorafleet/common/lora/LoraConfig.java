package dev.lorafleet.common.lora;

import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The LoRA hyper-parameters of a job, as PEFT names them.
 *
 * @param r rank of A ({@code r×in}) and B ({@code out×r})
 * @param alpha {@code lora_alpha}
 * @param dropout dropout probability on the LoRA path's input
 * @param targetModules module names ({@code q_proj}, …) or {@code all-linear} for all seven
 * @param useRslora scale by {@code alpha/sqrt(r)} (rsLoRA) instead of {@code alpha/r}
 */
public record LoraConfig(
    int r, double alpha, double dropout, List<String> targetModules, boolean useRslora) {

  public static final String ALL_LINEAR = "all-linear";

  public LoraConfig {
    targetModules = List.copyOf(targetModules);
    List<String> problems = problems(r, alpha, dropout, targetModules);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid LoRA config: " + String.join("; ", problems));
    }
  }

  /** A config without rsLoRA. */
  public static LoraConfig of(int r, double alpha, double dropout, String... targetModules) {
    return new LoraConfig(r, alpha, dropout, List.of(targetModules), false);
  }

  /**
   * Every problem with these values, each naming the field ({@code r}, {@code alpha}, {@code
   * dropout}, {@code targetModules[i]}); empty when valid. The job-spec validator reports these
   * under its own field path.
   */
  public static List<String> problems(
      int r, double alpha, double dropout, List<String> targetModules) {
    List<String> problems = new ArrayList<>();
    if (r <= 0) {
      problems.add("r must be a positive integer, is " + r);
    }
    if (!(alpha > 0) || Double.isInfinite(alpha)) {
      problems.add("alpha must be positive, is " + alpha);
    }
    if (!(dropout >= 0 && dropout < 1)) {
      problems.add("dropout must be in [0, 1), is " + dropout);
    }
    if (targetModules == null || targetModules.isEmpty()) {
      problems.add("targetModules must name at least one module (q_proj, …, or all-linear)");
    } else {
      for (int i = 0; i < targetModules.size(); i++) {
        String m = targetModules.get(i);
        if (m == null || (!m.equals(ALL_LINEAR) && Projection.fromHfName(m) == null)) {
          problems.add(
              "targetModules["
                  + i
                  + "] '"
                  + m
                  + "' is not a projection; use q_proj, k_proj, v_proj, o_proj, gate_proj,"
                  + " up_proj, down_proj or all-linear");
        }
      }
    }
    return problems;
  }

  /** The scaling of the LoRA path: {@code alpha/r}, or {@code alpha/sqrt(r)} with rsLoRA. */
  public double scaling() {
    return useRslora ? alpha / Math.sqrt(r) : alpha / r;
  }

  /** The targeted projections in layout order, {@code all-linear} expanded. */
  public Set<Projection> projections() {
    if (targetModules.contains(ALL_LINEAR)) {
      return EnumSet.allOf(Projection.class);
    }
    EnumSet<Projection> set = EnumSet.noneOf(Projection.class);
    for (String m : targetModules) {
      set.add(Projection.fromHfName(m));
    }
    return set;
  }

  /** The module names in layout order, {@code all-linear} expanded. */
  public List<String> expandedTargetModules() {
    return projections().stream().map(Projection::hfName).toList();
  }

  /**
   * Trainable parameters for a model: {@code r·(in+out)} per targeted projection per layer (with
   * r=8 on q_proj, v_proj, Llama-2-7B has 4,194,304).
   */
  public long trainableParameters(ModelConfig model) {
    long perLayer = 0;
    for (Projection p : projections()) {
      perLayer += (long) r * (model.inFeatures(p) + model.outFeatures(p));
    }
    return perLayer * model.numHiddenLayers();
  }
}
