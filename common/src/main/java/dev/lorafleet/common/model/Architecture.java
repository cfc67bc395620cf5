package dev.lorafleet.common.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The decoder-only Hugging Face architectures lorafleet builds, with their quirks. */
public enum Architecture {
  /** Llama 2/3: optional {@code attention_bias} on q/k/v/o, optional {@code mlp_bias}. */
  LLAMA("LlamaForCausalLM"),
  /** Qwen2/2.5: q/k/v always carry a bias, o does not. */
  QWEN2("Qwen2ForCausalLM"),
  /** Qwen3: RMSNorm on each head of q and k before RoPE; explicit {@code head_dim}. */
  QWEN3("Qwen3ForCausalLM"),
  /** Mistral: the Llama block without biases. */
  MISTRAL("MistralForCausalLM");

  private final String hfName;

  Architecture(String hfName) {
    this.hfName = hfName;
  }

  /** The class name in {@code config.json}'s {@code architectures}. */
  public String hfName() {
    return hfName;
  }

  /** The architecture for a Hugging Face class name, or null. */
  public static Architecture fromHfName(String name) {
    for (Architecture a : values()) {
      if (a.hfName.equals(name)) {
        return a;
      }
    }
    return null;
  }

  /** "LlamaForCausalLM, Qwen2ForCausalLM, …" for error messages. */
  public static String supportedList() {
    return Arrays.stream(values()).map(Architecture::hfName).collect(Collectors.joining(", "));
  }
}
