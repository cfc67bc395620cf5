package dev.lorafleet.worker.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.model.RopeScaling;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a small random model in Hugging Face layout ({@code config.json} plus {@code
 * model.safetensors}, or shards with an index), the same bytes for the same settings and seed.
 * Tests, the demo and the benchmark make their models with it. Linear weights are drawn with
 * standard deviation {@code 1/√in} so activations keep their scale through the layers and logits
 * are far from uniform, which makes equivalence checks meaningful.
 */
public final class TinyModelWriter {
  private Architecture architecture = Architecture.LLAMA;
  private int vocabSize = 512;
  private int hiddenSize = 64;
  private int intermediateSize = 128;
  private int layers = 2;
  private int heads = 4;
  private int kvHeads = 2;
  private int headDim = 0;
  private double ropeTheta = 10000.0;
  private RopeScaling ropeScaling;
  private boolean tieWordEmbeddings;
  private boolean attentionBias;
  private double rmsNormEps = 1e-6;
  private DType dtype = DType.F32;
  private int shards = 1;
  private long seed = 1;
  private int maxPositionEmbeddings = 4096;

  public TinyModelWriter optArchitecture(Architecture value) {
    architecture = value;
    return this;
  }

  public TinyModelWriter optVocabSize(int value) {
    vocabSize = value;
    return this;
  }

  public TinyModelWriter optHiddenSize(int value) {
    hiddenSize = value;
    return this;
  }

  public TinyModelWriter optIntermediateSize(int value) {
    intermediateSize = value;
    return this;
  }

  public TinyModelWriter optLayers(int value) {
    layers = value;
    return this;
  }

  /** Query heads and key/value heads. */
  public TinyModelWriter optHeads(int queryHeads, int keyValueHeads) {
    heads = queryHeads;
    kvHeads = keyValueHeads;
    return this;
  }

  /** An explicit {@code head_dim} (default {@code hidden/heads}). */
  public TinyModelWriter optHeadDim(int value) {
    headDim = value;
    return this;
  }

  public TinyModelWriter optRopeTheta(double value) {
    ropeTheta = value;
    return this;
  }

  public TinyModelWriter optRopeScaling(RopeScaling value) {
    ropeScaling = value;
    return this;
  }

  public TinyModelWriter optTieWordEmbeddings(boolean value) {
    tieWordEmbeddings = value;
    return this;
  }

  /** Llama/Qwen3 {@code attention_bias} (Qwen2 always has q/k/v bias). */
  public TinyModelWriter optAttentionBias(boolean value) {
    attentionBias = value;
    return this;
  }

  public TinyModelWriter optDtype(DType value) {
    dtype = value;
    return this;
  }

  /** Number of weight files; more than one writes {@code model.safetensors.index.json}. */
  public TinyModelWriter optShards(int value) {
    shards = value;
    return this;
  }

  public TinyModelWriter optSeed(long value) {
    seed = value;
    return this;
  }

  /** The config this writer produces. */
  public ModelConfig config() {
    int hd = headDim > 0 ? headDim : hiddenSize / heads;
    return new ModelConfig(
        architecture,
        vocabSize,
        hiddenSize,
        intermediateSize,
        layers,
        heads,
        kvHeads,
        hd,
        rmsNormEps,
        ropeTheta,
        ropeScaling,
        tieWordEmbeddings,
        attentionBias && architecture != Architecture.QWEN2 && architecture != Architecture.MISTRAL,
        false,
        maxPositionEmbeddings,
        torchDtype(dtype));
  }

  /** Writes the model into {@code dir} (created if needed) and returns its config. */
  public ModelConfig write(Path dir) {
    ModelConfig c = config();
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(ModelConfig.FILE_NAME), configJson(c));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write tiny model into " + dir, e);
    }
    Map<String, float[]> tensors = tensors(c);
    Map<String, long[]> shapes = shapes(c);
    List<String> names = new ArrayList<>(tensors.keySet());
    if (shards <= 1) {
      SafetensorsWriter w = new SafetensorsWriter();
      for (String name : names) {
        w.add(name, dtype, shapes.get(name), tensors.get(name));
      }
      w.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE));
      return c;
    }
    Map<String, String> weightMap = new LinkedHashMap<>();
    long total = 0;
    int perShard = (names.size() + shards - 1) / shards;
    for (int s = 0; s < shards; s++) {
      String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards);
      SafetensorsWriter w = new SafetensorsWriter();
      for (int i = s * perShard; i < Math.min(names.size(), (s + 1) * perShard); i++) {
        String name = names.get(i);
        w.add(name, dtype, shapes.get(name), tensors.get(name));
        weightMap.put(name, file);
        total += (long) tensors.get(name).length * dtype.byteSize();
      }
      w.write(dir.resolve(file));
    }
    SafetensorsCheckpoint.writeIndex(dir, weightMap, total);
    return c;
  }

  private static String torchDtype(DType dtype) {
    return switch (dtype) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
      case F64 -> "float64";
      default -> throw new IllegalArgumentException("a model cannot be stored as " + dtype);
    };
  }

  /** HF tensor name → shape, in a fixed order. */
  static Map<String, long[]> shapes(ModelConfig c) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    long h = c.hiddenSize();
    shapes.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      String prefix = "model.layers." + i + ".";
      shapes.put(prefix + "input_layernorm.weight", new long[] {h});
      for (Projection p : Projection.values()) {
        shapes.put(ModelConfig.weightName(i, p), new long[] {c.outFeatures(p), c.inFeatures(p)});
        if (c.hasBias(p)) {
          shapes.put(ModelConfig.biasName(i, p), new long[] {c.outFeatures(p)});
        }
      }
      if (c.qkNorm()) {
        shapes.put(prefix + "self_attn.q_norm.weight", new long[] {c.headDim()});
        shapes.put(prefix + "self_attn.k_norm.weight", new long[] {c.headDim()});
      }
      shapes.put(prefix + "post_attention_layernorm.weight", new long[] {h});
    }
    shapes.put("model.norm.weight", new long[] {h});
    if (!c.tieWordEmbeddings()) {
      shapes.put("lm_head.weight", new long[] {c.vocabSize(), h});
    }
    return shapes;
  }

  private Map<String, float[]> tensors(ModelConfig c) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes(c).entrySet()) {
      String name = e.getKey();
      long[] shape = e.getValue();
      int n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, (int) d);
      }
      float[] v = new float[n];
      SplittableRandom r = random.split();
      if (name.endsWith("norm.weight")) {
        for (int i = 0; i < n; i++) {
          v[i] = (float) (1.0 + 0.1 * gaussian(r));
        }
      } else if (name.endsWith(".bias")) {
        for (int i = 0; i < n; i++) {
          v[i] = (float) (0.1 * gaussian(r));
        }
      } else {
        double std = name.contains("embed_tokens") ? 1.0 : 1.0 / Math.sqrt(shape[1]);
        for (int i = 0; i < n; i++) {
          v[i] = (float) (std * gaussian(r));
        }
      }
      out.put(name, v);
    }
    return out;
  }

  /** Box–Muller, so the values do not depend on the JDK's Random.nextGaussian algorithm. */
  private static double gaussian(SplittableRandom r) {
    double u1 = 1.0 - r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  private String configJson(ModelConfig c) {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    root.putArray("architectures").add(c.architecture().hfName());
    root.put(
        "model_type",
        switch (c.architecture()) {
          case LLAMA -> "llama";
          case QWEN2 -> "qwen2";
          case QWEN3 -> "qwen3";
          case MISTRAL -> "mistral";
        });
    root.put("vocab_size", c.vocabSize());
    root.put("hidden_size", c.hiddenSize());
    root.put("intermediate_size", c.intermediateSize());
    root.put("num_hidden_layers", c.numHiddenLayers());
    root.put("num_attention_heads", c.numAttentionHeads());
    root.put("num_key_value_heads", c.numKeyValueHeads());
    root.put("head_dim", c.headDim());
    root.put("hidden_act", "silu");
    root.put("rms_norm_eps", c.rmsNormEps());
    root.put("rope_theta", c.ropeTheta());
    if (c.ropeScaling() != null) {
      ObjectNode s = root.putObject("rope_scaling");
      s.put("rope_type", "llama3");
      s.put("factor", c.ropeScaling().factor());
      s.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
      s.put("high_freq_factor", c.ropeScaling().highFreqFactor());
      s.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
    } else {
      root.putNull("rope_scaling");
    }
    root.put("tie_word_embeddings", c.tieWordEmbeddings());
    if (c.architecture() == Architecture.LLAMA || c.architecture() == Architecture.QWEN3) {
      root.put("attention_bias", c.attentionBias());
    }
    root.put("max_position_embeddings", c.maxPositionEmbeddings());
    root.put("torch_dtype", c.torchDtype());
    root.put("bos_token_id", 1);
    root.put("eos_token_id", 2);
    try {
      return json.writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
