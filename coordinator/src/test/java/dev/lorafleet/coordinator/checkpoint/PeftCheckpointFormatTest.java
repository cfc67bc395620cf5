package dev.lorafleet.coordinator.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.coordinator.job.JobSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftCheckpointFormatTest {
  private static final String TINY_LLAMA =
      """
      {"architectures":["LlamaForCausalLM"],"hidden_size":16,"intermediate_size":32,
       "num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,
       "rms_norm_eps":1e-05,"vocab_size":64,"max_position_embeddings":64,
       "tie_word_embeddings":false,"torch_dtype":"float32"}
      """;

  @TempDir Path dir;

  private JobSettings settings() {
    return new JobSettings(
        "t",
        Path.of("/models/tiny"),
        List.of(),
        List.of(),
        LoraConfig.of(2, 4, 0, "q_proj", "v_proj"),
        1,
        1e-3,
        "constant",
        0,
        1,
        1,
        0,
        0,
        1,
        1,
        0,
        "USD",
        0,
        2);
  }

  @Test
  void writesAPeftAdapterThatLoadsAndOptimizerStateThatReadsBack() throws IOException {
    // q_proj: A 2x16, B 16x2; v_proj: A 2x16, B 8x2 (one kv head of dim 8): per layer 112, 2 layers
    CheckpointFormat format = PeftCheckpointFormat.factory().create(settings(), TINY_LLAMA, 224);
    float[] params = new float[224];
    float[] m = new float[224];
    float[] v = new float[224];
    for (int i = 0; i < params.length; i++) {
      params[i] = i * 0.01f;
      m[i] = -i;
      v[i] = i * i;
    }
    Checkpointer checkpointer = new Checkpointer(dir, 2, format);
    Path fin =
        checkpointer.writeFinal(new TrainerState(1, 5, 0, 42, 5, 0, List.of(), null), params, m, v);

    Files.writeString(dir.resolve("config.json"), TINY_LLAMA);
    PeftAdapter.Loaded loaded = PeftAdapter.read(fin, ModelConfig.load(dir));
    assertThat(loaded.parameters()).containsExactly(params);
    assertThat(loaded.config().r()).isEqualTo(2);
    float[][] back = format.read(fin);
    assertThat(back[1]).containsExactly(m);
    assertThat(back[2]).containsExactly(v);
  }

  @Test
  void refusesAdapterLengthThatDoesNotMatchTheLayout() {
    assertThatThrownBy(() -> PeftCheckpointFormat.factory().create(settings(), TINY_LLAMA, 10))
        .hasMessageContaining("10 values");
  }
}
