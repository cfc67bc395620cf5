package dev.lorafleet.common.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
  @TempDir Path dir;

  private ModelConfig load(String json) throws IOException {
    Files.writeString(dir.resolve("config.json"), json);
    return ModelConfig.load(dir);
  }

  private static final String LLAMA2_7B =
      """
      {"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":11008,
       "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,
       "rms_norm_eps":1e-05,"vocab_size":32000,"max_position_embeddings":4096,
       "tie_word_embeddings":false,"torch_dtype":"float16"}
      """;

  @Test
  void countsLlama2SevenBLikePeft() throws IOException {
    ModelConfig c = load(LLAMA2_7B);
    assertThat(c.parameterCount()).isEqualTo(6_738_415_616L);
    LoraConfig lora = LoraConfig.of(8, 16, 0.05, "q_proj", "v_proj");
    assertThat(lora.trainableParameters(c)).isEqualTo(4_194_304L);
    assertThat(c.parameterCount() + lora.trainableParameters(c)).isEqualTo(6_742_609_920L);
    assertThat(c.headDim()).isEqualTo(128);
    assertThat(c.torchDtype()).isEqualTo("float16");
    assertThat(c.qkvBias()).isFalse();
  }

  @Test
  void readsLlama3RopeScalingAndGqa() throws IOException {
    ModelConfig c =
        load(
            """
            {"architectures":["LlamaForCausalLM"],"hidden_size":2048,"intermediate_size":8192,
             "num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,
             "rms_norm_eps":1e-05,"vocab_size":128256,"rope_theta":500000.0,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
               "original_max_position_embeddings":8192,"rope_type":"llama3"},
             "tie_word_embeddings":true,"head_dim":64,"torch_dtype":"bfloat16"}
            """);
    assertThat(c.ropeScaling()).isEqualTo(new RopeScaling(32, 1, 4, 8192));
    assertThat(c.groupSize()).isEqualTo(4);
    assertThat(c.outFeatures(Projection.K_PROJ)).isEqualTo(512);
    assertThat(c.tieWordEmbeddings()).isTrue();
    // Llama-3.2-1B: 1,235,814,400 parameters (tied embeddings counted once)
    assertThat(c.parameterCount()).isEqualTo(1_235_814_400L);
  }

  @Test
  void givesQwen2QkvBiasButNoOutputBias() throws IOException {
    ModelConfig c =
        load(
            """
            {"architectures":["Qwen2ForCausalLM"],"hidden_size":896,"intermediate_size":4864,
             "num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
             "rms_norm_eps":1e-06,"vocab_size":151936,"rope_theta":1000000.0,
             "tie_word_embeddings":true,"attention_bias":true}
            """);
    assertThat(c.hasBias(Projection.Q_PROJ)).isTrue();
    assertThat(c.hasBias(Projection.V_PROJ)).isTrue();
    assertThat(c.hasBias(Projection.O_PROJ)).isFalse();
    // Qwen2.5-0.5B: 494,032,768 parameters
    assertThat(c.parameterCount()).isEqualTo(494_032_768L);
    assertThat(c.maxPositionEmbeddings()).isEqualTo(32768);
  }

  @Test
  void givesQwen3QkNormAndExplicitHeadDim() throws IOException {
    ModelConfig c =
        load(
            """
            {"architectures":["Qwen3ForCausalLM"],"hidden_size":1024,"intermediate_size":3072,
             "num_hidden_layers":28,"num_attention_heads":16,"num_key_value_heads":8,
             "head_dim":128,"rms_norm_eps":1e-06,"vocab_size":151936,"rope_theta":1000000,
             "tie_word_embeddings":true,"attention_bias":false}
            """);
    assertThat(c.qkNorm()).isTrue();
    assertThat(c.inFeatures(Projection.O_PROJ)).isEqualTo(2048);
    assertThat(c.hasBias(Projection.Q_PROJ)).isFalse();
    // Qwen3-0.6B: 596,049,920 parameters
    assertThat(c.parameterCount()).isEqualTo(596_049_920L);
  }

  @Test
  void readsMistralWithoutBiases() throws IOException {
    ModelConfig c =
        load(
            """
            {"architectures":["MistralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
             "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
             "rms_norm_eps":1e-05,"vocab_size":32000,"rope_theta":10000.0,
             "sliding_window":4096,"attention_bias":true}
            """);
    assertThat(c.hasBias(Projection.Q_PROJ)).isFalse();
    // Mistral-7B-v0.1: 7,241,732,096 parameters
    assertThat(c.parameterCount()).isEqualTo(7_241_732_096L);
  }

  @Test
  void rejectsUnknownArchitectureListingSupportedOnes() throws IOException {
    assertThatThrownBy(
            () ->
                load(
                    """
                    {"architectures":["GPT2LMHeadModel"],"hidden_size":8}
                    """))
        .isInstanceOf(ModelConfigException.class)
        .hasMessageContaining("config.json")
        .hasMessageContaining("unknown architecture 'GPT2LMHeadModel'")
        .hasMessageContaining(
            "supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM");
  }

  @Test
  void rejectsMissingFieldNamingFieldAndFile() throws IOException {
    assertThatThrownBy(
            () ->
                load(
                    """
                    {"architectures":["LlamaForCausalLM"],"hidden_size":64,
                     "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100}
                    """))
        .hasMessageContaining(dir.resolve("config.json").toString())
        .hasMessageContaining("missing field 'intermediate_size'");
  }

  @Test
  void rejectsUnsupportedRopeScaling() throws IOException {
    assertThatThrownBy(
            () ->
                load(
                    """
                    {"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,
                     "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,
                     "rope_scaling":{"type":"yarn","factor":4.0}}
                    """))
        .hasMessageContaining("rope_scaling type 'yarn' is not supported (supported: llama3)");
  }

  @Test
  void rejectsMissingConfigFile() {
    assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("config.json: not found");
  }
}
