package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeCommandTest {
  @TempDir Path dir;

  private Path model;
  private Path adapter;

  private void writeInputs() throws IOException {
    model = dir.resolve("model");
    Files.createDirectories(model);
    Files.writeString(
        model.resolve("config.json"),
        """
        {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 8, "intermediate_size": 16,
         "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
         "vocab_size": 10, "tie_word_embeddings": true, "torch_dtype": "bfloat16"}
        """);
    ModelConfig config = ModelConfig.load(model);
    SafetensorsWriter w = new SafetensorsWriter();
    w.add("model.embed_tokens.weight", DType.BF16, new long[] {10, 8}, new float[80]);
    w.add("model.norm.weight", DType.BF16, new long[] {8}, new float[8]);
    String[] names = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    for (String n : names) {
      var p = dev.lorafleet.common.model.Projection.fromHfName(n);
      int out = config.outFeatures(p);
      int in = config.inFeatures(p);
      w.add(ModelConfig.weightName(0, p), DType.BF16, new long[] {out, in}, new float[out * in]);
      if (config.hasBias(p)) {
        w.add(ModelConfig.biasName(0, p), DType.BF16, new long[] {out}, new float[out]);
      }
    }
    w.write(model.resolve("model.safetensors"));
    adapter = dir.resolve("adapter");
    AdapterLayout layout = AdapterLayout.of(config, LoraConfig.of(2, 4, 0, "q_proj", "v_proj"));
    float[] params = new float[layout.size()];
    java.util.Arrays.fill(params, 0.25f);
    PeftAdapter.write(adapter, layout, params, "model");
  }

  @Test
  void mergesFromTheCommandLineAndSaysWhatItWrote() throws IOException {
    writeInputs();
    Path out = dir.resolve("merged");
    PlanCommandTest.Run run =
        PlanCommandTest.run(
            "merge",
            "--model",
            model.toString(),
            "--adapter",
            adapter.toString(),
            "--out",
            out.toString(),
            "--dtype",
            "fp32");
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("merged 2 weights (scale 2.0)").contains("1 shard,");
    assertThat(run.err()).contains("wrote model-00001-of-00001.safetensors");
    try (SafetensorsCheckpoint merged = SafetensorsCheckpoint.open(out)) {
      // W = 0, A = B = 0.25, r = 2, scale 2: every element 2 · (2 · 0.0625) = 0.25
      assertThat(merged.readFloats("model.layers.0.self_attn.q_proj.weight")).containsOnly(0.25f);
      assertThat(merged.readFloats("model.layers.0.self_attn.k_proj.weight")).containsOnly(0f);
      assertThat(merged.info("model.layers.0.self_attn.q_proj.bias").dtype()).isEqualTo(DType.F32);
    }
  }

  @Test
  void refusesBadArgumentsWithOneLine() throws IOException {
    writeInputs();
    PlanCommandTest.Run dtype =
        PlanCommandTest.run(
            "merge",
            "--model",
            model.toString(),
            "--adapter",
            adapter.toString(),
            "--out",
            dir.resolve("o").toString(),
            "--dtype",
            "int8");
    assertThat(dtype.code()).isEqualTo(2);
    assertThat(dtype.err()).contains("--dtype must be bf16, fp16 or fp32");

    PlanCommandTest.Run missing = PlanCommandTest.run("merge", "--model", model.toString());
    assertThat(missing.code()).isEqualTo(2);
    assertThat(missing.err()).contains("Missing required options");

    PlanCommandTest.Run overwrite =
        PlanCommandTest.run(
            "merge",
            "--model",
            model.toString(),
            "--adapter",
            adapter.toString(),
            "--out",
            model.toString());
    assertThat(overwrite.code()).isEqualTo(1);
    assertThat(overwrite.err()).contains("lorafleet merge:").contains("inside the input");
    assertThat(overwrite.err().lines().count()).isEqualTo(1);
  }
}
