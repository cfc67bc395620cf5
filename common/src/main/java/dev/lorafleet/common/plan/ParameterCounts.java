package dev.lorafleet.common.plan;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import java.util.Locale;

/**
 * The parameter counts PEFT's {@code print_trainable_parameters()} prints for a model with a LoRA
 * adapter: the adapter's A and B matrices are trainable, and "all params" is the base model (tied
 * embeddings counted once) plus the adapter.
 *
 * @param baseParams the frozen base model's parameters
 * @param trainableParams the adapter's parameters
 */
public record ParameterCounts(long baseParams, long trainableParams) {

  public ParameterCounts {
    if (baseParams <= 0 || trainableParams < 0) {
      throw new IllegalArgumentException(
          "parameter counts must be positive: base "
              + baseParams
              + ", trainable "
              + trainableParams);
    }
  }

  /** The counts for a model and an adapter config. */
  public static ParameterCounts of(ModelConfig model, LoraConfig lora) {
    return new ParameterCounts(model.parameterCount(), lora.trainableParameters(model));
  }

  /** PEFT's "all params": base plus adapter. */
  public long totalParams() {
    return baseParams + trainableParams;
  }

  /** {@code 100 · trainable / all}, PEFT's "trainable%". */
  public double trainablePercent() {
    return 100.0 * trainableParams / totalParams();
  }

  /**
   * The line PEFT prints, e.g. {@code trainable params: 4,194,304 || all params: 6,742,609,920 ||
   * trainable%: 0.0622}.
   */
  public String peftLine() {
    return String.format(
        Locale.ROOT,
        "trainable params: %,d || all params: %,d || trainable%%: %.4f",
        trainableParams,
        totalParams(),
        trainablePercent());
  }
}
