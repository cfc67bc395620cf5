package dev.lorafleet.common.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsFile;
import dev.lorafleet.common.wire.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterTest {
  @TempDir Path dir;

  /** 3 layers, hidden 16, 4 heads of 4 with 2 KV heads, intermediate 24. */
  static final ModelConfig MODEL =
      new ModelConfig(
          Architecture.LLAMA,
          64,
          16,
          24,
          3,
          4,
          2,
          4,
          1e-6,
          10000,
          null,
          false,
          false,
          false,
          128,
          "float32");

  private static float[] random(int n, long seed) {
    Random rnd = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian();
    }
    return v;
  }

  @Test
  void laysOutByLayerThenModuleWithAThenB() {
    AdapterLayout layout =
        AdapterLayout.of(MODEL, LoraConfig.of(2, 4, 0, "v_proj", "q_proj", "down_proj"));
    List<String> keys = layout.entries().stream().map(AdapterLayout.Entry::peftKey).toList();
    assertThat(keys.subList(0, 6))
        .containsExactly(
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
            "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
            "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
            "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight",
            "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
    AdapterLayout.Entry vB = layout.entry(0, Projection.V_PROJ, AdapterLayout.Kind.B);
    assertThat(vB.shape()).containsExactly(8, 2);
    assertThat(vB.offset()).isEqualTo(2 * 16 + 16 * 2 + 2 * 16);
    AdapterLayout.Entry downA = layout.entry(0, Projection.DOWN_PROJ, AdapterLayout.Kind.A);
    assertThat(downA.shape()).containsExactly(2, 24);
    int perLayer = 2 * (16 + 16) + 2 * (16 + 8) + 2 * (24 + 16);
    assertThat(layout.size()).isEqualTo(3 * perLayer);
    assertThat((long) layout.size()).isEqualTo(layout.lora().trainableParameters(MODEL));
    assertThat(layout.entry(1, Projection.Q_PROJ, AdapterLayout.Kind.A).offset())
        .isEqualTo(perLayer);
  }

  @Test
  void roundTripsBitExactWithPeftKeysShapesAndConfig() throws IOException {
    LoraConfig lora = new LoraConfig(4, 8, 0.05, List.of("all-linear"), true);
    AdapterLayout layout = AdapterLayout.of(MODEL, lora);
    float[] params = random(layout.size(), 1);
    params[3] = Float.MIN_VALUE; // subnormals survive
    params[4] = -0.0f;
    PeftAdapter.write(dir, layout, params, "/models/tiny");

    PeftAdapter.Loaded loaded = PeftAdapter.read(dir, MODEL);
    // PEFT too saves all-linear expanded to the module names
    assertThat(loaded.config())
        .isEqualTo(new LoraConfig(4, 8, 0.05, lora.expandedTargetModules(), true));
    assertThat(loaded.baseModel()).isEqualTo("/models/tiny");
    assertThat(loaded.absentModules()).isEmpty();
    for (int i = 0; i < params.length; i++) {
      assertThat(Float.floatToRawIntBits(loaded.parameters()[i]))
          .isEqualTo(Float.floatToRawIntBits(params[i]));
    }
    try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
      assertThat(f.tensors()).hasSize(3 * 7 * 2);
      var qa = f.info("base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight");
      assertThat(qa.shape()).containsExactly(4, 16);
      assertThat(qa.dtype()).isEqualTo(DType.F32);
      assertThat(f.info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape())
          .containsExactly(16, 4);
    }
    JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
    assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
    assertThat(config.get("task_type").asText()).isEqualTo("CAUSAL_LM");
    assertThat(config.get("r").asInt()).isEqualTo(4);
    assertThat(config.get("lora_alpha").isIntegralNumber()).isTrue();
    assertThat(config.get("lora_dropout").asDouble()).isEqualTo(0.05);
    assertThat(config.get("bias").asText()).isEqualTo("none");
    assertThat(config.get("fan_in_fan_out").asBoolean()).isFalse();
    assertThat(config.get("inference_mode").asBoolean()).isTrue();
    assertThat(config.get("use_rslora").asBoolean()).isTrue();
    assertThat(config.get("target_modules")).hasSize(7);
    // writing twice gives the same bytes
    byte[] first = Files.readAllBytes(dir.resolve("adapter_model.safetensors"));
    PeftAdapter.write(dir, layout, params, "/models/tiny");
    assertThat(Files.readAllBytes(dir.resolve("adapter_model.safetensors"))).isEqualTo(first);
  }

  private void writePeftStyle(
      LoraConfig lora, String keySuffix, DType dtype, int layers, long[] bShape)
      throws IOException {
    SafetensorsWriter w = new SafetensorsWriter();
    AdapterLayout layout = AdapterLayout.of(MODEL, lora);
    for (AdapterLayout.Entry e : layout.entries()) {
      if (e.layer() >= layers) {
        continue;
      }
      long[] shape = e.kind() == AdapterLayout.Kind.B && bShape != null ? bShape : e.shape();
      int n = (int) (shape[0] * shape[1]);
      String key = e.peftKey().replace(".weight", keySuffix);
      w.add(key, dtype, shape, random(n, e.offset()));
    }
    w.write(dir.resolve("adapter_model.safetensors"));
    Files.writeString(dir.resolve("adapter_config.json"), PeftAdapter.configJson(lora, "base"));
  }

  @Test
  void loadsPeftStyleKeysWithDefaultAdapterNameInBf16() throws IOException {
    LoraConfig lora = LoraConfig.of(2, 4, 0, "q_proj", "v_proj");
    writePeftStyle(lora, ".default.weight", DType.BF16, 3, null);
    PeftAdapter.Loaded loaded = PeftAdapter.read(dir, MODEL);
    AdapterLayout.Entry e = loaded.layout().entry(1, Projection.V_PROJ, AdapterLayout.Kind.A);
    float[] expected = random(e.size(), e.offset());
    for (int i = 0; i < e.size(); i++) {
      assertThat(loaded.parameters()[e.offset() + i])
          .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(0.02f));
    }
  }

  @Test
  void loadsAdapterForSomeLayersLeavingTheRestZero() throws IOException {
    LoraConfig lora = LoraConfig.of(2, 4, 0, "q_proj");
    writePeftStyle(lora, ".weight", DType.F32, 2, null);
    PeftAdapter.Loaded loaded = PeftAdapter.read(dir, MODEL);
    assertThat(loaded.absentModules()).containsExactly("layers.2.q_proj");
    AdapterLayout.Entry a2 = loaded.layout().entry(2, Projection.Q_PROJ, AdapterLayout.Kind.A);
    for (int i = 0; i < a2.size(); i++) {
      assertThat(loaded.parameters()[a2.offset() + i]).isZero();
    }
  }

  @Test
  void rejectsShapeMismatchNamingKeyAndShapes() throws IOException {
    writePeftStyle(LoraConfig.of(2, 4, 0, "k_proj"), ".weight", DType.F32, 3, new long[] {16, 2});
    assertThatThrownBy(() -> PeftAdapter.read(dir, MODEL))
        .isInstanceOf(PeftFormatException.class)
        .hasMessageContaining(
            "tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight' has shape"
                + " [16, 2] but the model needs [8, 2]");
  }

  @Test
  void rejectsTensorsForLayersTheModelDoesNotHave() throws IOException {
    ModelConfig bigger =
        new ModelConfig(
            Architecture.LLAMA,
            64,
            16,
            24,
            5,
            4,
            2,
            4,
            1e-6,
            10000,
            null,
            false,
            false,
            false,
            128,
            "float32");
    LoraConfig lora = LoraConfig.of(2, 4, 0, "q_proj");
    PeftAdapter.write(
        dir, AdapterLayout.of(bigger, lora), new float[AdapterLayout.of(bigger, lora).size()], "x");
    assertThatThrownBy(() -> PeftAdapter.read(dir, MODEL))
        .hasMessageContaining(
            "tensor 'base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight' has no place"
                + " in the model");
  }

  @Test
  void rejectsHalfAPair() throws IOException {
    LoraConfig lora = LoraConfig.of(2, 4, 0, "q_proj");
    AdapterLayout layout = AdapterLayout.of(MODEL, lora);
    SafetensorsWriter w = new SafetensorsWriter();
    for (AdapterLayout.Entry e : layout.entries()) {
      if (!(e.layer() == 1 && e.kind() == AdapterLayout.Kind.B)) {
        w.add(e.peftKey(), DType.F32, e.shape(), new float[e.size()]);
      }
    }
    w.write(dir.resolve("adapter_model.safetensors"));
    Files.writeString(dir.resolve("adapter_config.json"), PeftAdapter.configJson(lora, "base"));
    assertThatThrownBy(() -> PeftAdapter.read(dir, MODEL))
        .hasMessageContaining(
            "missing tensor 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight'");
  }

  @Test
  void refusesDora() throws IOException {
    Files.writeString(
        dir.resolve("adapter_config.json"),
        "{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],"
            + "\"use_dora\":true}");
    assertThatThrownBy(() -> PeftAdapter.readConfig(dir)).hasMessageContaining("use_dora is true");
  }
}
