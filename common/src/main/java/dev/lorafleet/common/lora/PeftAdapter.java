package dev.lorafleet.common.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsFile;
import dev.lorafleet.common.wire.SafetensorsWriter;
import dev.lorafleet.common.wire.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * LoRA adapters on disk in PEFT's format: {@code adapter_model.safetensors} (fp32, keys {@code
 * base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight}, A {@code [r, in]}, B {@code
 * [out, r]}) and {@code adapter_config.json}. What this writes loads in PEFT, vLLM and
 * LLaMA-Factory; what PEFT writes (fp32/fp16/bf16, with or without the {@code .default} adapter
 * name, possibly only some layers) loads here.
 */
public final class PeftAdapter {
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";
  public static final String CONFIG_FILE = "adapter_config.json";

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private PeftAdapter() {}

  /**
   * An adapter read from disk.
   *
   * @param parameters the flat vector in {@code layout}
   * @param absentModules {@code layers.{i}.{module}} the file has no tensors for (left zero: the
   *     adapter does not change them), e.g. when PEFT trained only some layers
   */
  public record Loaded(
      LoraConfig config,
      String baseModel,
      AdapterLayout layout,
      float[] parameters,
      List<String> absentModules) {}

  /**
   * Writes {@code adapter_model.safetensors} and {@code adapter_config.json} into {@code dir}
   * (created if needed), each fsynced. Making the directory appear atomically is the caller's job.
   */
  public static void write(
      Path dir, AdapterLayout layout, float[] parameters, String baseModelNameOrPath) {
    if (parameters.length != layout.size()) {
      throw new IllegalArgumentException(
          "adapter vector has " + parameters.length + " values, the layout needs " + layout.size());
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create adapter directory " + dir, e);
    }
    SafetensorsWriter writer = new SafetensorsWriter();
    for (AdapterLayout.Entry e : layout.entries()) {
      writer.add(e.peftKey(), DType.F32, e.shape(), layout.slice(parameters, e));
    }
    writer.write(dir.resolve(WEIGHTS_FILE));
    writeDurably(dir.resolve(CONFIG_FILE), configJson(layout.lora(), baseModelNameOrPath));
  }

  /** The {@code adapter_config.json} text PEFT would write for this config (keys sorted). */
  public static String configJson(LoraConfig lora, String baseModelNameOrPath) {
    ObjectNode root = JSON.createObjectNode();
    root.putObject("alpha_pattern");
    root.putNull("auto_mapping");
    root.put("base_model_name_or_path", baseModelNameOrPath);
    root.put("bias", "none");
    root.put("fan_in_fan_out", false);
    root.put("inference_mode", true);
    root.put("init_lora_weights", true);
    root.putNull("layers_pattern");
    root.putNull("layers_to_transform");
    if (lora.alpha() == Math.rint(lora.alpha()) && Math.abs(lora.alpha()) < 1e15) {
      root.put("lora_alpha", (long) lora.alpha());
    } else {
      root.put("lora_alpha", lora.alpha());
    }
    root.put("lora_dropout", lora.dropout());
    root.putNull("modules_to_save");
    root.put("peft_type", "LORA");
    root.put("r", lora.r());
    root.putObject("rank_pattern");
    root.putNull("revision");
    var targets = root.putArray("target_modules");
    lora.expandedTargetModules().forEach(targets::add);
    root.put("task_type", "CAUSAL_LM");
    root.put("use_dora", false);
    root.put("use_rslora", lora.useRslora());
    try {
      // PEFT writes json.dumps(..., indent=2, sort_keys=True)
      return JSON.writer().writeValueAsString(JSON.convertValue(root, java.util.TreeMap.class))
          + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads {@code adapter_config.json}.
   *
   * @throws PeftFormatException for missing fields or PEFT features lorafleet does not train (DoRA,
   *     biases, rank/alpha patterns, fan_in_fan_out, modules_to_save)
   */
  public static LoraConfig readConfig(Path dir) {
    Path file = dir.resolve(CONFIG_FILE);
    JsonNode root = readJson(file);
    String peftType = root.path("peft_type").asText("LORA");
    if (!peftType.equals("LORA")) {
      throw new PeftFormatException(
          file + ": peft_type is " + peftType + ", only LORA is supported");
    }
    if (!root.hasNonNull("r")) {
      throw new PeftFormatException(file + ": missing field 'r'");
    }
    if (!root.hasNonNull("lora_alpha")) {
      throw new PeftFormatException(file + ": missing field 'lora_alpha'");
    }
    refuse(file, root.path("use_dora").asBoolean(false), "use_dora is true (DoRA)");
    refuse(file, root.path("fan_in_fan_out").asBoolean(false), "fan_in_fan_out is true");
    refuse(
        file,
        !root.path("bias").asText("none").equals("none"),
        "bias is '" + root.path("bias").asText() + "' (only 'none')");
    refuse(file, nonEmpty(root.get("modules_to_save")), "modules_to_save is set");
    refuse(file, nonEmpty(root.get("rank_pattern")), "rank_pattern is set");
    refuse(file, nonEmpty(root.get("alpha_pattern")), "alpha_pattern is set");
    JsonNode targets = root.get("target_modules");
    List<String> modules = new ArrayList<>();
    if (targets == null || targets.isNull()) {
      throw new PeftFormatException(file + ": missing field 'target_modules'");
    } else if (targets.isTextual()) {
      if (!targets.asText().equals(LoraConfig.ALL_LINEAR)) {
        throw new PeftFormatException(
            file
                + ": target_modules is the pattern '"
                + targets.asText()
                + "'; list the module names (q_proj, …) instead");
      }
      modules.add(LoraConfig.ALL_LINEAR);
    } else {
      targets.forEach(t -> modules.add(t.asText()));
    }
    try {
      return new LoraConfig(
          root.get("r").asInt(),
          root.get("lora_alpha").asDouble(),
          root.path("lora_dropout").asDouble(0.0),
          modules,
          root.path("use_rslora").asBoolean(false));
    } catch (IllegalArgumentException e) {
      throw new PeftFormatException(file + ": " + e.getMessage(), e);
    }
  }

  /** Reads a whole adapter for a base model, the layout built from the adapter's own config. */
  public static Loaded read(Path dir, ModelConfig model) {
    LoraConfig lora = readConfig(dir);
    AdapterLayout layout = AdapterLayout.of(model, lora);
    JsonNode root = readJson(dir.resolve(CONFIG_FILE));
    String base = root.path("base_model_name_or_path").asText("");
    List<String> absent = new ArrayList<>();
    float[] params = readWeights(dir, layout, absent);
    return new Loaded(lora, base, layout, params, List.copyOf(absent));
  }

  /**
   * Reads {@code adapter_model.safetensors} into the flat vector of {@code layout}.
   *
   * @param absent receives {@code layers.{i}.{module}} for adapters missing from the file (left
   *     zero); pass null to treat a missing adapter as an error
   * @throws PeftFormatException naming the key and the expected and found shapes on a mismatch, or
   *     a key the model has no place for
   */
  public static float[] readWeights(Path dir, AdapterLayout layout, List<String> absent) {
    Path file = dir.resolve(WEIGHTS_FILE);
    float[] out = new float[layout.size()];
    Set<String> seen = new HashSet<>();
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      for (TensorInfo info : st.tensors().values()) {
        String key = normalizeKey(info.name());
        AdapterLayout.Entry e = layout.byPeftKey(key);
        if (e == null) {
          throw new PeftFormatException(
              file
                  + ": tensor '"
                  + info.name()
                  + "' has no place in the model ("
                  + layout.model().architecture().hfName()
                  + ", "
                  + layout.model().numHiddenLayers()
                  + " layers, LoRA on "
                  + layout.lora().expandedTargetModules()
                  + "); was the adapter trained on a different base model?");
        }
        if (!Arrays.equals(info.shape(), e.shape())) {
          throw new PeftFormatException(
              file
                  + ": tensor '"
                  + info.name()
                  + "' has shape "
                  + info.shapeString()
                  + " but the model needs "
                  + Arrays.toString(e.shape())
                  + " (r="
                  + layout.lora().r()
                  + "); was the adapter trained on a different base model?");
        }
        if (!seen.add(key)) {
          throw new PeftFormatException(file + ": tensor '" + key + "' appears twice");
        }
        float[] values = st.readFloats(info.name());
        System.arraycopy(values, 0, out, e.offset(), values.length);
      }
    }
    for (int i = 0; i < layout.entries().size(); i += 2) {
      AdapterLayout.Entry a = layout.entries().get(i);
      AdapterLayout.Entry b = layout.entries().get(i + 1);
      boolean hasA = seen.contains(a.peftKey());
      boolean hasB = seen.contains(b.peftKey());
      if (hasA && hasB) {
        continue;
      }
      if (hasA != hasB || absent == null) {
        throw new PeftFormatException(
            file + ": missing tensor '" + (hasA ? b.peftKey() : a.peftKey()) + "'");
      }
      absent.add("layers." + a.layer() + "." + a.module().hfName());
    }
    return out;
  }

  /** PEFT's in-memory keys carry the adapter name: {@code lora_A.default.weight}. */
  static String normalizeKey(String key) {
    return key.replace(".lora_A.default.weight", ".lora_A.weight")
        .replace(".lora_B.default.weight", ".lora_B.weight");
  }

  private static boolean nonEmpty(JsonNode node) {
    return node != null && !node.isNull() && !(node.isContainerNode() && node.isEmpty());
  }

  private static void refuse(Path file, boolean condition, String what) {
    if (condition) {
      throw new PeftFormatException(file + ": " + what + "; lorafleet supports plain LoRA only");
    }
  }

  private static JsonNode readJson(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new PeftFormatException(file + ": not found; is this a PEFT adapter directory?");
    }
    try {
      JsonNode root = JSON.readTree(file.toFile());
      if (root == null || !root.isObject()) {
        throw new PeftFormatException(file + ": not a JSON object");
      }
      return root;
    } catch (IOException e) {
      throw new PeftFormatException(file + ": not valid JSON: " + e.getMessage(), e);
    }
  }

  private static void writeDurably(Path file, String text) {
    try (FileChannel out =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      out.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
