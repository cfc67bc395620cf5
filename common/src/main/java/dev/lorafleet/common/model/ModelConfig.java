package dev.lorafleet.common.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The shape of a Llama-family model as read from Hugging Face's {@code config.json}. Optional
 * fields take the defaults of the architecture's transformers config class, so a config that loads
 * in transformers loads here with the same meaning.
 *
 * @param attentionBias Llama/Qwen3 {@code attention_bias}: bias on q, k, v and o
 * @param mlpBias Llama {@code mlp_bias}: bias on gate, up and down
 * @param ropeScaling null unless {@code rope_scaling} is of type {@code llama3}
 * @param torchDtype the checkpoint's dtype name ({@code bfloat16}, …), {@code float32} if absent
 */
public record ModelConfig(
    Architecture architecture,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean tieWordEmbeddings,
    boolean attentionBias,
    boolean mlpBias,
    int maxPositionEmbeddings,
    String torchDtype) {

  public static final String FILE_NAME = "config.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  public ModelConfig {
    require(vocabSize > 0, "vocab_size", vocabSize);
    require(hiddenSize > 0, "hidden_size", hiddenSize);
    require(intermediateSize > 0, "intermediate_size", intermediateSize);
    require(numHiddenLayers > 0, "num_hidden_layers", numHiddenLayers);
    require(numAttentionHeads > 0, "num_attention_heads", numAttentionHeads);
    require(numKeyValueHeads > 0, "num_key_value_heads", numKeyValueHeads);
    require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even for RoPE)", headDim);
    if (numAttentionHeads % numKeyValueHeads != 0) {
      throw new ModelConfigException(
          "num_attention_heads "
              + numAttentionHeads
              + " is not a multiple of num_key_value_heads "
              + numKeyValueHeads);
    }
  }

  private static void require(boolean ok, String field, Object value) {
    if (!ok) {
      throw new ModelConfigException("invalid " + field + ": " + value);
    }
  }

  /** Reads {@code config.json} from a model directory. */
  public static ModelConfig load(Path modelDir) {
    return read(modelDir.resolve(FILE_NAME));
  }

  /**
   * Reads a {@code config.json}.
   *
   * @throws ModelConfigException naming the file and the unknown architecture or missing field
   */
  public static ModelConfig read(Path configJson) {
    if (!Files.isRegularFile(configJson)) {
      throw new ModelConfigException(
          configJson + ": not found; a Hugging Face model directory needs a config.json");
    }
    JsonNode root;
    try {
      root = JSON.readTree(configJson.toFile());
    } catch (IOException e) {
      throw new ModelConfigException(configJson + ": not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelConfigException(configJson + ": not a JSON object");
    }
    return parse(root, configJson.toString());
  }

  /** Parses the JSON of a {@code config.json}; {@code source} names it in errors. */
  public static ModelConfig parse(JsonNode root, String source) {
    Fields f = new Fields(root, source);
    Architecture arch = architecture(root, source);
    int hidden = f.requiredInt("hidden_size");
    int heads = f.requiredInt("num_attention_heads");
    int defaultHeadDim = arch == Architecture.QWEN3 ? 128 : hidden / heads;
    RopeScaling scaling = ropeScaling(root.get("rope_scaling"), source);
    String dtype = f.optionalText("torch_dtype", f.optionalText("dtype", "float32"));
    try {
      return new ModelConfig(
          arch,
          f.requiredInt("vocab_size"),
          hidden,
          f.requiredInt("intermediate_size"),
          f.requiredInt("num_hidden_layers"),
          heads,
          f.optionalInt("num_key_value_heads", heads),
          f.optionalInt("head_dim", defaultHeadDim),
          f.optionalDouble("rms_norm_eps", 1e-6),
          f.optionalDouble("rope_theta", 10000.0),
          scaling,
          f.optionalBoolean("tie_word_embeddings", false),
          arch != Architecture.QWEN2
              && arch != Architecture.MISTRAL
              && f.optionalBoolean("attention_bias", false),
          arch == Architecture.LLAMA && f.optionalBoolean("mlp_bias", false),
          f.optionalInt(
              "max_position_embeddings",
              switch (arch) {
                case LLAMA -> 2048;
                case QWEN2, QWEN3 -> 32768;
                case MISTRAL -> 131072;
              }),
          dtype);
    } catch (ModelConfigException e) {
      throw new ModelConfigException(source + ": " + e.getMessage(), e);
    }
  }

  private static Architecture architecture(JsonNode root, String source) {
    JsonNode archs = root.get("architectures");
    if (archs == null || !archs.isArray() || archs.isEmpty()) {
      JsonNode modelType = root.get("model_type");
      throw new ModelConfigException(
          source
              + ": missing field 'architectures'"
              + (modelType != null ? " (model_type is " + modelType + ")" : "")
              + "; supported: "
              + Architecture.supportedList());
    }
    String name = archs.get(0).asText();
    Architecture arch = Architecture.fromHfName(name);
    if (arch == null) {
      throw new ModelConfigException(
          source
              + ": unknown architecture '"
              + name
              + "'; supported: "
              + Architecture.supportedList());
    }
    return arch;
  }

  private static RopeScaling ropeScaling(JsonNode node, String source) {
    if (node == null || node.isNull()) {
      return null;
    }
    JsonNode typeNode = node.has("rope_type") ? node.get("rope_type") : node.get("type");
    String type = typeNode == null ? "default" : typeNode.asText().toLowerCase(Locale.ROOT);
    if (type.equals("default")) {
      return null;
    }
    if (!type.equals("llama3")) {
      throw new ModelConfigException(
          source + ": rope_scaling type '" + type + "' is not supported (supported: llama3)");
    }
    Fields f = new Fields(node, source + " rope_scaling");
    return new RopeScaling(
        f.requiredDouble("factor"),
        f.requiredDouble("low_freq_factor"),
        f.requiredDouble("high_freq_factor"),
        f.requiredInt("original_max_position_embeddings"));
  }

  /** Whether q, k and v projections carry a bias. */
  public boolean qkvBias() {
    return architecture == Architecture.QWEN2 || attentionBias;
  }

  /** Whether the o projection carries a bias. */
  public boolean oBias() {
    return attentionBias;
  }

  /** Whether q and k get a per-head RMSNorm before RoPE (Qwen3). */
  public boolean qkNorm() {
    return architecture == Architecture.QWEN3;
  }

  /** Query heads per key/value head. */
  public int groupSize() {
    return numAttentionHeads / numKeyValueHeads;
  }

  /** The input features of a projection. */
  public int inFeatures(Projection p) {
    return switch (p) {
      case Q_PROJ, K_PROJ, V_PROJ, GATE_PROJ, UP_PROJ -> hiddenSize;
      case O_PROJ -> numAttentionHeads * headDim;
      case DOWN_PROJ -> intermediateSize;
    };
  }

  /** The output features of a projection. */
  public int outFeatures(Projection p) {
    return switch (p) {
      case Q_PROJ -> numAttentionHeads * headDim;
      case K_PROJ, V_PROJ -> numKeyValueHeads * headDim;
      case O_PROJ -> hiddenSize;
      case GATE_PROJ, UP_PROJ -> intermediateSize;
      case DOWN_PROJ -> hiddenSize;
    };
  }

  /** Whether a projection carries a bias in this architecture. */
  public boolean hasBias(Projection p) {
    return switch (p) {
      case Q_PROJ, K_PROJ, V_PROJ -> qkvBias();
      case O_PROJ -> oBias();
      case GATE_PROJ, UP_PROJ, DOWN_PROJ -> mlpBias;
    };
  }

  /**
   * The exact number of base-model parameters, counting tied embeddings once — what PEFT's {@code
   * print_trainable_parameters} reports as the base (Llama-2-7B: 6,738,415,616).
   */
  public long parameterCount() {
    long h = hiddenSize;
    long perLayer = 2 * h; // input_layernorm, post_attention_layernorm
    for (Projection p : Projection.values()) {
      perLayer += (long) inFeatures(p) * outFeatures(p);
      if (hasBias(p)) {
        perLayer += outFeatures(p);
      }
    }
    if (qkNorm()) {
      perLayer += 2L * headDim;
    }
    long embeddings = (long) vocabSize * h;
    long lmHead = tieWordEmbeddings ? 0 : embeddings;
    return embeddings + numHiddenLayers * perLayer + h + lmHead;
  }

  /** The Hugging Face name of a layer's projection weight. */
  public static String weightName(int layer, Projection p) {
    return "model.layers." + layer + "." + p.path() + ".weight";
  }

  /** The Hugging Face name of a layer's projection bias. */
  public static String biasName(int layer, Projection p) {
    return "model.layers." + layer + "." + p.path() + ".bias";
  }

  /** Reads the fields of one JSON object with errors naming field and source. */
  private record Fields(JsonNode node, String source) {
    int requiredInt(String name) {
      JsonNode v = node.get(name);
      if (v == null || v.isNull()) {
        throw new ModelConfigException(source + ": missing field '" + name + "'");
      }
      return asInt(name, v);
    }

    double requiredDouble(String name) {
      JsonNode v = node.get(name);
      if (v == null || v.isNull()) {
        throw new ModelConfigException(source + ": missing field '" + name + "'");
      }
      return asDouble(name, v);
    }

    int optionalInt(String name, int fallback) {
      JsonNode v = node.get(name);
      return v == null || v.isNull() ? fallback : asInt(name, v);
    }

    double optionalDouble(String name, double fallback) {
      JsonNode v = node.get(name);
      return v == null || v.isNull() ? fallback : asDouble(name, v);
    }

    boolean optionalBoolean(String name, boolean fallback) {
      JsonNode v = node.get(name);
      if (v == null || v.isNull()) {
        return fallback;
      }
      if (!v.isBoolean()) {
        throw new ModelConfigException(
            source + ": field '" + name + "' must be true or false, is " + v);
      }
      return v.booleanValue();
    }

    String optionalText(String name, String fallback) {
      JsonNode v = node.get(name);
      return v == null || v.isNull() ? fallback : v.asText();
    }

    private int asInt(String name, JsonNode v) {
      if (!v.canConvertToInt() || !v.isIntegralNumber()) {
        throw new ModelConfigException(
            source + ": field '" + name + "' must be an integer, is " + v);
      }
      return v.intValue();
    }

    private double asDouble(String name, JsonNode v) {
      if (!v.isNumber()) {
        throw new ModelConfigException(source + ": field '" + name + "' must be a number, is " + v);
      }
      return v.doubleValue();
    }
  }
}
