package dev.lorafleet.coordinator.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.lora.PeftFormatException;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.HalfFloats;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsFile;
import dev.lorafleet.common.wire.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterMergerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** A tiny Llama in Hugging Face layout with random weights in {@code dtype}. */
  static ModelConfig writeTinyModel(Path modelDir, int hidden, DType dtype, long seed)
      throws IOException {
    Files.createDirectories(modelDir);
    String torchDtype =
        switch (dtype) {
          case BF16 -> "bfloat16";
          case F16 -> "float16";
          default -> "float32";
        };
    Files.writeString(
        modelDir.resolve("config.json"),
        """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": %d, "intermediate_size": %d,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "vocab_size": 40, "rms_norm_eps": 1e-05, "tie_word_embeddings": false,
         "torch_dtype": "%s", "bos_token_id": 1}
        """
            .formatted(hidden, 2 * hidden, torchDtype));
    ModelConfig model = ModelConfig.load(modelDir);
    Random random = new Random(seed);
    SafetensorsWriter writer = new SafetensorsWriter();
    writer.add("model.embed_tokens.weight", dtype, shape(40, hidden), randoms(random, 40 * hidden));
    writer.add("lm_head.weight", dtype, shape(40, hidden), randoms(random, 40 * hidden));
    writer.add("model.norm.weight", dtype, shape(hidden), randoms(random, hidden));
    for (int layer = 0; layer < model.numHiddenLayers(); layer++) {
      for (Projection p : Projection.values()) {
        int out = model.outFeatures(p);
        int in = model.inFeatures(p);
        writer.add(
            ModelConfig.weightName(layer, p), dtype, shape(out, in), randoms(random, out * in));
      }
      for (String norm : List.of("input_layernorm", "post_attention_layernorm")) {
        writer.add(
            "model.layers." + layer + "." + norm + ".weight",
            dtype,
            shape(hidden),
            randoms(random, hidden));
      }
    }
    writer.write(modelDir.resolve("model.safetensors"));
    Files.writeString(modelDir.resolve("tokenizer.json"), "{\"version\":\"1.0\"}");
    Files.writeString(modelDir.resolve("tokenizer_config.json"), "{\"bos_token\":\"<s>\"}");
    Files.writeString(modelDir.resolve("generation_config.json"), "{\"do_sample\":false}");
    return model;
  }

  /** A PEFT adapter with random A and non-zero B (so the merge changes something). */
  static float[] writeAdapter(Path adapterDir, ModelConfig model, LoraConfig lora, long seed) {
    AdapterLayout layout = AdapterLayout.of(model, lora);
    float[] params = randoms(new Random(seed), layout.size());
    PeftAdapter.write(adapterDir, layout, params, "tiny");
    return params;
  }

  private static long[] shape(long... dims) {
    return dims;
  }

  private static float[] randoms(Random random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) random.nextGaussian() * 0.5f;
    }
    return v;
  }

  /** The merged weight computed independently: W + s·Σ_k B[i,k]·A[k,j] in double, rounded once. */
  private static float[] expectedMerge(
      float[] w, float[] a, float[] b, int out, int in, int r, double s) {
    float[] merged = new float[out * in];
    for (int i = 0; i < out; i++) {
      for (int j = 0; j < in; j++) {
        double delta = 0;
        for (int k = 0; k < r; k++) {
          delta += (double) b[i * r + k] * a[k * in + j];
        }
        merged[i * in + j] = (float) (w[i * in + j] + s * delta);
      }
    }
    return merged;
  }

  private static Map<String, String> hashes(Path directory) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> files = Files.walk(directory)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
        out.put(directory.relativize(f).toString(), HexFormat.of().formatHex(digest));
      }
    }
    return out;
  }

  @Test
  void foldsTheAdapterIntoEveryTargetedWeightExactlyInFp32() throws Exception {
    Path modelDir = dir.resolve("base");
    ModelConfig model = writeTinyModel(modelDir, 16, DType.F32, 1);
    LoraConfig lora = LoraConfig.of(4, 8, 0.0, "q_proj", "v_proj", "down_proj");
    Path adapterDir = dir.resolve("adapter");
    float[] params = writeAdapter(adapterDir, model, lora, 2);
    Map<String, String> before = hashes(modelDir);

    Path out = dir.resolve("merged");
    AdapterMerger.Result result =
        AdapterMerger.merge(modelDir, adapterDir, out, AdapterMerger.Options.DEFAULTS, s -> {});

    assertThat(result.mergedWeights()).isEqualTo(2 * 3);
    assertThat(result.dtype()).isEqualTo(DType.F32);
    assertThat(result.scaling()).isEqualTo(2.0);
    AdapterLayout layout = AdapterLayout.of(model, lora);
    try (SafetensorsCheckpoint base = SafetensorsCheckpoint.open(modelDir);
        SafetensorsCheckpoint merged = SafetensorsCheckpoint.open(out)) {
      assertThat(merged.names()).containsExactlyInAnyOrderElementsOf(base.names());
      int checked = 0;
      for (int layer = 0; layer < 2; layer++) {
        for (Projection p : Projection.values()) {
          String name = ModelConfig.weightName(layer, p);
          float[] w = base.readFloats(name);
          float[] actual = merged.readFloats(name);
          if (lora.projections().contains(p)) {
            float[] a = layout.slice(params, layout.entry(layer, p, AdapterLayout.Kind.A));
            float[] b = layout.slice(params, layout.entry(layer, p, AdapterLayout.Kind.B));
            float[] expected =
                expectedMerge(w, a, b, model.outFeatures(p), model.inFeatures(p), 4, 2.0);
            assertThat(actual).as(name).containsExactly(expected);
            assertThat(actual).as(name).isNotEqualTo(w);
            checked++;
          } else {
            assertThat(actual).as(name).containsExactly(w);
          }
        }
      }
      assertThat(checked).isEqualTo(6);
      assertThat(merged.readFloats("lm_head.weight"))
          .containsExactly(base.readFloats("lm_head.weight"));
    }
    // the input is untouched
    assertThat(hashes(modelDir)).isEqualTo(before);
  }

  @Test
  void writesAHuggingFaceLayoutWithShardsIndexConfigAndTokenizer() throws Exception {
    Path modelDir = dir.resolve("base");
    ModelConfig model = writeTinyModel(modelDir, 16, DType.F32, 3);
    Path adapterDir = dir.resolve("adapter");
    writeAdapter(adapterDir, model, LoraConfig.of(2, 4, 0.0, "all-linear"), 4);

    Path out = dir.resolve("nested/merged");
    AdapterMerger.Result result =
        AdapterMerger.merge(
            modelDir, adapterDir, out, new AdapterMerger.Options(DType.BF16, 6_000), s -> {});

    assertThat(result.shards().size()).isGreaterThan(1);
    assertThat(result.shards().get(0))
        .isEqualTo("model-00001-of-0000" + result.shards().size() + ".safetensors");
    JsonNode index = JSON.readTree(out.resolve("model.safetensors.index.json").toFile());
    JsonNode weightMap = index.get("weight_map");
    long total = 0;
    List<String> seen = new ArrayList<>();
    for (String shard : result.shards()) {
      try (SafetensorsFile file = SafetensorsFile.open(out.resolve(shard))) {
        for (var info : file.tensors().values()) {
          assertThat(weightMap.get(info.name()).asText()).isEqualTo(shard);
          assertThat(info.dtype()).isEqualTo(DType.BF16);
          total += info.byteLength();
          seen.add(info.name());
        }
        assertThat(Files.size(out.resolve(shard))).isLessThan(6_000 + 4_096);
      }
    }
    assertThat(seen).hasSize(weightMap.size()).hasSize(3 + 2 * 9);
    assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
    assertThat(result.totalBytes()).isEqualTo(total);
    JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
    assertThat(config.get("torch_dtype").asText()).isEqualTo("bfloat16");
    assertThat(config.get("hidden_size").asInt()).isEqualTo(16);
    assertThat(ModelConfig.load(out).parameterCount()).isEqualTo(model.parameterCount());
    assertThat(out.resolve("tokenizer.json")).hasContent("{\"version\":\"1.0\"}");
    assertThat(result.copiedFiles())
        .containsExactly("generation_config.json", "tokenizer.json", "tokenizer_config.json");
    // nothing but the model is left beside it
    try (Stream<Path> siblings = Files.list(out.getParent())) {
      assertThat(siblings.map(p -> p.getFileName().toString())).containsExactly("merged");
    }
  }

  @Test
  void keepsBf16WeightsInBf16AndRoundsTheMergedSumOnce() throws Exception {
    Path modelDir = dir.resolve("base");
    ModelConfig model = writeTinyModel(modelDir, 16, DType.BF16, 5);
    LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("o_proj"), true);
    Path adapterDir = dir.resolve("adapter");
    float[] params = writeAdapter(adapterDir, model, lora, 6);

    Path out = dir.resolve("merged");
    AdapterMerger.Result result =
        AdapterMerger.merge(modelDir, adapterDir, out, AdapterMerger.Options.DEFAULTS, s -> {});
    assertThat(result.dtype()).isEqualTo(DType.BF16);
    assertThat(result.scaling()).isEqualTo(8 / Math.sqrt(4)); // rsLoRA: alpha / sqrt(r)

    AdapterLayout layout = AdapterLayout.of(model, lora);
    String name = ModelConfig.weightName(1, Projection.O_PROJ);
    try (SafetensorsCheckpoint base = SafetensorsCheckpoint.open(modelDir);
        SafetensorsCheckpoint merged = SafetensorsCheckpoint.open(out)) {
      float[] w = base.readFloats(name);
      float[] a = layout.slice(params, layout.entry(1, Projection.O_PROJ, AdapterLayout.Kind.A));
      float[] b = layout.slice(params, layout.entry(1, Projection.O_PROJ, AdapterLayout.Kind.B));
      float[] exact = expectedMerge(w, a, b, 16, 16, 4, 4.0);
      float[] actual = merged.readFloats(name);
      for (int i = 0; i < exact.length; i++) {
        float rounded = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(exact[i]));
        assertThat(actual[i]).as("element %d", i).isEqualTo(rounded);
      }
      assertThat(merged.info(name).dtype()).isEqualTo(DType.BF16);
      // untouched bf16 tensors are copied byte for byte
      assertThat(merged.bytes("model.norm.weight")).isEqualTo(base.bytes("model.norm.weight"));
    }
  }

  @Test
  void refusesAnAdapterTrainedOnAnotherModelNamingKeyAndShapes() throws Exception {
    Path modelDir = dir.resolve("base");
    writeTinyModel(modelDir, 16, DType.F32, 7);
    ModelConfig wider = writeTinyModel(dir.resolve("wider"), 32, DType.F32, 8);
    Path adapterDir = dir.resolve("adapter");
    writeAdapter(adapterDir, wider, LoraConfig.of(4, 8, 0.0, "q_proj"), 9);
    Path out = dir.resolve("merged");

    assertThatThrownBy(
            () ->
                AdapterMerger.merge(
                    modelDir, adapterDir, out, AdapterMerger.Options.DEFAULTS, s -> {}))
        .isInstanceOf(PeftFormatException.class)
        .hasMessageContaining("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
        .hasMessageContaining("[4, 32]")
        .hasMessageContaining("[4, 16]");
    assertThat(out).doesNotExist();
  }

  @Test
  void refusesWeightsThatDisagreeWithTheConfig() throws Exception {
    Path modelDir = dir.resolve("base");
    writeTinyModel(modelDir, 16, DType.F32, 10);
    // the config claims a larger MLP than the weights have; the adapter follows the config
    String config = Files.readString(modelDir.resolve("config.json"));
    Files.writeString(
        modelDir.resolve("config.json"),
        config.replace("\"intermediate_size\": 32", "\"intermediate_size\": 48"));
    Path adapterDir = dir.resolve("adapter");
    writeAdapter(adapterDir, ModelConfig.load(modelDir), LoraConfig.of(4, 8, 0.0, "up_proj"), 11);

    assertThatThrownBy(
            () ->
                AdapterMerger.merge(
                    modelDir,
                    adapterDir,
                    dir.resolve("m"),
                    AdapterMerger.Options.DEFAULTS,
                    s -> {}))
        .isInstanceOf(MergeException.class)
        .hasMessageContaining("model.layers.0.mlp.up_proj.weight")
        .hasMessageContaining("[32, 16]")
        .hasMessageContaining("[48, 16]");
    assertThat(dir.resolve("m")).doesNotExist();
  }

  @Test
  void neverWritesIntoOrOverAnInput() throws Exception {
    Path modelDir = dir.resolve("base");
    ModelConfig model = writeTinyModel(modelDir, 16, DType.F32, 14);
    Path adapterDir = dir.resolve("adapter");
    writeAdapter(adapterDir, model, LoraConfig.of(2, 4, 0.0, "q_proj"), 15);
    Map<String, String> before = hashes(dir);

    for (Path bad :
        List.of(modelDir, modelDir.resolve("merged"), adapterDir, adapterDir.resolve("x/y"))) {
      assertThatThrownBy(
              () ->
                  AdapterMerger.merge(
                      modelDir, adapterDir, bad, AdapterMerger.Options.DEFAULTS, s -> {}))
          .as(bad.toString())
          .isInstanceOf(MergeException.class)
          .hasMessageContaining("inside the input");
    }
    assertThat(adapterDir.resolve("x")).doesNotExist();
    Path link = dir.resolve("link-to-base");
    Files.createSymbolicLink(link, modelDir);
    assertThatThrownBy(
            () ->
                AdapterMerger.merge(
                    modelDir,
                    adapterDir,
                    link.resolve("out"),
                    AdapterMerger.Options.DEFAULTS,
                    s -> {}))
        .hasMessageContaining("inside the input");
    Files.delete(link);

    Path occupied = dir.resolve("occupied");
    Files.createDirectories(occupied);
    Files.writeString(occupied.resolve("keep.txt"), "mine");
    assertThatThrownBy(
            () ->
                AdapterMerger.merge(
                    modelDir, adapterDir, occupied, AdapterMerger.Options.DEFAULTS, s -> {}))
        .hasMessageContaining("exists and is not empty");
    assertThat(occupied.resolve("keep.txt")).hasContent("mine");
    Files.delete(occupied.resolve("keep.txt"));
    Files.delete(occupied);
    assertThat(hashes(dir)).isEqualTo(before);

    // an existing empty directory is fine
    Path empty = Files.createDirectories(dir.resolve("empty"));
    AdapterMerger.merge(modelDir, adapterDir, empty, AdapterMerger.Options.DEFAULTS, s -> {});
    assertThat(empty.resolve("model.safetensors.index.json")).exists();
  }
}
