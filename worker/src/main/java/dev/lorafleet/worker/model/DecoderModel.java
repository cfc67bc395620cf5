package dev.lorafleet.worker.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.model.RopeScaling;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-family decoder (Llama, Qwen2, Qwen3, Mistral) built from a Hugging Face checkpoint on one
 * device, computing what transformers' {@code *ForCausalLM} computes: token embeddings; per layer
 * RMSNorm → attention (q/k/v projections, Qwen3 per-head q/k RMSNorm, RoPE paired by halves,
 * grouped-query attention with a causal and padding mask, softmax in fp32) → residual → RMSNorm →
 * SwiGLU MLP → residual; final RMSNorm. Projections are {@link LoraLinear}s whose adapters come per
 * call from an {@link AdapterViews}.
 *
 * <p>Arrays made during a call belong to the manager of the input ids; the caller closes that
 * manager after each micro-batch. The weights live in this model's manager until {@link #close()}.
 */
public final class DecoderModel implements AutoCloseable {
  private final ModelConfig config;
  private final Device device;
  private final Precision precision;
  private final NDManager manager;
  private final ParameterStore parameterStore;
  private final NDArray embedTokens;
  private final NDArray lmHead;
  private final NDArray finalNorm;
  private final List<Layer> layers;
  private final float[] invFreq;
  private NDArray cosTable;
  private NDArray sinTable;
  private int tableLength;

  private record Layer(
      NDArray inputNorm, NDArray postNorm, NDArray qNorm, NDArray kNorm, LoraLinear[] linears) {}

  private DecoderModel(
      ModelConfig config,
      Device device,
      Precision precision,
      NDManager manager,
      NDArray embedTokens,
      NDArray lmHead,
      NDArray finalNorm,
      List<Layer> layers) {
    this.config = config;
    this.device = device;
    this.precision = precision;
    this.manager = manager;
    this.parameterStore = new ParameterStore(manager, false);
    this.embedTokens = embedTokens;
    this.lmHead = lmHead;
    this.finalNorm = finalNorm;
    this.layers = layers;
    this.invFreq = inverseFrequencies(config);
  }

  /**
   * Loads the weights onto a device.
   *
   * @param loraScaling the LoRA scaling {@code s} of the adapters this model will run with
   * @param trainBase whether the base weights take gradients (only the full-parameter benchmark)
   * @throws ModelLoadException naming a missing tensor, or a tensor with its expected and found
   *     shape
   */
  public static DecoderModel load(
      ModelConfig config,
      SafetensorsCheckpoint weights,
      Device device,
      Precision precision,
      float loraScaling,
      boolean trainBase) {
    NDManager manager = NDManager.newBaseManager(device);
    try {
      Loader loader = new Loader(weights, manager, precision.weights(), trainBase);
      int h = config.hiddenSize();
      int v = config.vocabSize();
      NDArray embed = loader.tensor("model.embed_tokens.weight", v, h);
      NDArray head = config.tieWordEmbeddings() ? embed : loader.tensor("lm_head.weight", v, h);
      NDArray norm = loader.tensor("model.norm.weight", h);
      List<Layer> layers = new ArrayList<>();
      for (int i = 0; i < config.numHiddenLayers(); i++) {
        String prefix = "model.layers." + i + ".";
        LoraLinear[] linears = new LoraLinear[Projection.values().length];
        for (Projection p : Projection.values()) {
          NDArray w =
              loader.tensor(
                  ModelConfig.weightName(i, p), config.outFeatures(p), config.inFeatures(p));
          NDArray b =
              config.hasBias(p)
                  ? loader.tensor(ModelConfig.biasName(i, p), config.outFeatures(p))
                  : null;
          linears[p.ordinal()] = new LoraLinear(w, b, loraScaling);
        }
        NDArray qNorm = null;
        NDArray kNorm = null;
        if (config.qkNorm()) {
          qNorm = loader.tensor(prefix + "self_attn.q_norm.weight", config.headDim());
          kNorm = loader.tensor(prefix + "self_attn.k_norm.weight", config.headDim());
        }
        layers.add(
            new Layer(
                loader.tensor(prefix + "input_layernorm.weight", h),
                loader.tensor(prefix + "post_attention_layernorm.weight", h),
                qNorm,
                kNorm,
                linears));
      }
      return new DecoderModel(config, device, precision, manager, embed, head, norm, layers);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  public ModelConfig config() {
    return config;
  }

  public Device device() {
    return device;
  }

  public Precision precision() {
    return precision;
  }

  /** The manager that owns the weights; per-call managers should be its sub-managers. */
  public NDManager manager() {
    return manager;
  }

  /** The frozen linear of a layer's projection. */
  public LoraLinear linear(int layer, Projection p) {
    return layers.get(layer).linears()[p.ordinal()];
  }

  /** All base weights (tied embeddings once), e.g. to read their gradients in a benchmark. */
  public List<NDArray> baseWeights() {
    List<NDArray> all = new ArrayList<>();
    all.add(embedTokens);
    if (lmHead != embedTokens) {
      all.add(lmHead);
    }
    all.add(finalNorm);
    for (Layer l : layers) {
      all.add(l.inputNorm());
      all.add(l.postNorm());
      if (l.qNorm() != null) {
        all.add(l.qNorm());
        all.add(l.kNorm());
      }
      for (LoraLinear lin : l.linears()) {
        all.add(lin.weight());
        if (lin.bias() != null) {
          all.add(lin.bias());
        }
      }
    }
    return all;
  }

  /**
   * The final hidden states (after the last RMSNorm), {@code [B, T, hidden]}.
   *
   * @param ids {@code [B, T]} int64 token ids, right-padded; the arrays this call makes join its
   *     manager
   * @param lengths per row, the number of real tokens (keys beyond are masked)
   * @param adapter the step's adapter views, or null for the base model
   * @param dropout LoRA dropout, or null for none (evaluation)
   */
  public NDArray hidden(NDArray ids, int[] lengths, AdapterViews adapter, LoraDropout dropout) {
    NDManager scope = ids.getManager();
    int batch = Math.toIntExact(ids.getShape().get(0));
    int seq = Math.toIntExact(ids.getShape().get(1));
    NDArray h =
        ids.getNDArrayInternal().embedding(ids, embedTokens, SparseFormat.DENSE).singletonOrThrow();
    NDArray[] rope = rope(scope, seq);
    NDArray mask = attentionMask(scope, lengths, seq);
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      NDArray x = rmsNorm(h, layer.inputNorm());
      h = h.add(attention(i, layer, x, batch, seq, rope, mask, adapter, dropout));
      x = rmsNorm(h, layer.postNorm());
      h = h.add(mlp(i, layer, x, seq, adapter, dropout));
    }
    return rmsNorm(h, finalNorm);
  }

  /**
   * Logits for hidden states {@code [..., hidden]} → {@code [..., vocab]}, in the accumulate type.
   */
  public NDArray logits(NDArray hidden) {
    NDArray logits = LoraLinear.apply(hidden, lmHead, null);
    DataType acc = precision.accumulate();
    return logits.getDataType() == acc ? logits : logits.toType(acc, false);
  }

  private NDArray attention(
      int index,
      Layer layer,
      NDArray x,
      int batch,
      int seq,
      NDArray[] rope,
      NDArray mask,
      AdapterViews adapter,
      LoraDropout dropout) {
    int heads = config.numAttentionHeads();
    int kvHeads = config.numKeyValueHeads();
    int hd = config.headDim();
    NDArray q = project(index, layer, Projection.Q_PROJ, x, seq, adapter, dropout);
    NDArray k = project(index, layer, Projection.K_PROJ, x, seq, adapter, dropout);
    NDArray v = project(index, layer, Projection.V_PROJ, x, seq, adapter, dropout);
    q = q.reshape(batch, seq, heads, hd);
    k = k.reshape(batch, seq, kvHeads, hd);
    v = v.reshape(batch, seq, kvHeads, hd);
    if (layer.qNorm() != null) {
      q = rmsNorm(q, layer.qNorm());
      k = rmsNorm(k, layer.kNorm());
    }
    // [B, heads, T, hd]
    q = applyRope(q.transpose(0, 2, 1, 3), rope);
    k = applyRope(k.transpose(0, 2, 1, 3), rope);
    v = v.transpose(0, 2, 1, 3);
    // Grouped-query attention without repeating K/V: query head h uses KV head h / group, so
    // the group's queries are stacked along the time axis of their KV head.
    int group = config.groupSize();
    NDArray qg = q.reshape(batch, kvHeads, (long) group * seq, hd);
    NDArray scores =
        qg.matMul(k.transpose(0, 1, 3, 2))
            .mul(Scalars.of(qg.getManager(), 1.0 / Math.sqrt(hd), qg.getDataType()));
    DataType acc = precision.accumulate();
    if (scores.getDataType() != acc) {
      scores = scores.toType(acc, false);
    }
    scores = scores.reshape(batch, kvHeads, group, seq, seq).add(mask);
    NDArray probs = scores.softmax(-1).reshape(batch, kvHeads, (long) group * seq, seq);
    if (probs.getDataType() != v.getDataType()) {
      probs = probs.toType(v.getDataType(), false);
    }
    NDArray context =
        probs
            .matMul(v)
            .reshape(batch, heads, seq, hd)
            .transpose(0, 2, 1, 3)
            .reshape(batch, seq, (long) heads * hd);
    return project(index, layer, Projection.O_PROJ, context, seq, adapter, dropout);
  }

  private NDArray mlp(
      int index, Layer layer, NDArray x, int seq, AdapterViews adapter, LoraDropout dropout) {
    NDArray gate = project(index, layer, Projection.GATE_PROJ, x, seq, adapter, dropout);
    NDArray up = project(index, layer, Projection.UP_PROJ, x, seq, adapter, dropout);
    // silu(g) = g·σ(g); Activation.swish would multiply by a temporary scalar (see Scalars)
    NDArray act = gate.mul(Activation.sigmoid(gate)).mul(up);
    return project(index, layer, Projection.DOWN_PROJ, act, seq, adapter, dropout);
  }

  private NDArray project(
      int index,
      Layer layer,
      Projection p,
      NDArray x,
      int seq,
      AdapterViews adapter,
      LoraDropout dropout) {
    LoraLinear linear = layer.linears()[p.ordinal()];
    NDArray a = adapter == null ? null : adapter.a(index, p);
    NDList inputs;
    if (a == null) {
      inputs = new NDList(x);
    } else if (dropout != null && dropout.active()) {
      NDArray keep =
          dropout.mask(
              x.getManager(), index, p, seq, linear.inFeatures(), adapter.flat().getDataType());
      inputs = new NDList(x, a, adapter.b(index, p), keep);
    } else {
      inputs = new NDList(x, a, adapter.b(index, p));
    }
    return linear.forward(parameterStore, inputs, dropout != null).singletonOrThrow();
  }

  /** Hugging Face RMSNorm: normalise in (at least) fp32, cast back, then scale. */
  private NDArray rmsNorm(NDArray x, NDArray weight) {
    DataType type = x.getDataType();
    DataType acc = precision.accumulate();
    NDArray xf = type == acc ? x : x.toType(acc, false);
    NDArray variance = xf.square().mean(new int[] {-1}, true);
    NDArray eps = Scalars.of(x.getManager(), config.rmsNormEps(), acc);
    NDArray normed = xf.div(variance.add(eps).sqrt());
    if (type != acc) {
      normed = normed.toType(type, false);
    }
    return normed.mul(weight);
  }

  /** {@code x·cos + rotate_half(x)·sin} with {@code rotate_half(x) = [-x₂, x₁]}. */
  private static NDArray applyRope(NDArray x, NDArray[] rope) {
    long half = x.getShape().get(3) / 2;
    NDArray x1 = x.get(new NDIndex("..., :{}", half));
    NDArray x2 = x.get(new NDIndex("..., {}:", half));
    NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
    return x.mul(rope[0]).add(rotated.mul(rope[1]));
  }

  /**
   * cos and sin {@code [T, hd]} for positions 0..T-1, in the weights' type, scoped to {@code
   * scope}.
   */
  private synchronized NDArray[] rope(NDManager scope, int seq) {
    if (seq > tableLength) {
      int length = Math.max(seq, Math.max(tableLength * 2, 64));
      int hd = config.headDim();
      float[] cos = new float[length * hd];
      float[] sin = new float[length * hd];
      int halfDim = hd / 2;
      for (int t = 0; t < length; t++) {
        for (int j = 0; j < halfDim; j++) {
          // float32 like transformers: inv_freq (fp32) × position (fp32), then cos/sin
          float angle = invFreq[j] * (float) t;
          float c = (float) Math.cos(angle);
          float s = (float) Math.sin(angle);
          cos[t * hd + j] = c;
          cos[t * hd + j + halfDim] = c;
          sin[t * hd + j] = s;
          sin[t * hd + j + halfDim] = s;
        }
      }
      if (cosTable != null) {
        cosTable.close();
        sinTable.close();
      }
      cosTable = table(cos, length, hd);
      sinTable = table(sin, length, hd);
      tableLength = length;
    }
    NDArray c = cosTable.get(new NDIndex(":{}", seq));
    NDArray s = sinTable.get(new NDIndex(":{}", seq));
    c.attach(scope);
    s.attach(scope);
    return new NDArray[] {c, s};
  }

  private NDArray table(float[] values, int length, int hd) {
    NDArray created = manager.create(values, new Shape(length, hd));
    if (precision.weights() == DataType.FLOAT32) {
      return created;
    }
    NDArray cast = created.toType(precision.weights(), false);
    created.close();
    return cast;
  }

  /**
   * Additive mask {@code [B, 1, 1, T, T]}: 0 where query t may see key j (j ≤ t and j a real
   * token), a large negative number elsewhere.
   */
  private NDArray attentionMask(NDManager scope, int[] lengths, int seq) {
    DataType acc = precision.accumulate();
    NDArray pos = scope.arange(0, seq, 1, DataType.INT32);
    NDArray causal = pos.reshape(1, seq).gt(pos.reshape(seq, 1)); // key > query
    NDArray lens = scope.create(lengths, new Shape(lengths.length, 1, 1));
    NDArray padded = pos.reshape(1, 1, seq).gte(lens); // key beyond the row's length
    NDArray blocked = causal.reshape(1, seq, seq).logicalOr(padded);
    double negative = acc == DataType.FLOAT64 ? -1e300 : -3.0e38;
    return blocked
        .toType(acc, false)
        .mul(Scalars.of(scope, negative, acc))
        .reshape(lengths.length, 1, 1, seq, seq);
  }

  /** RoPE inverse frequencies in fp32, with Llama 3 scaling when configured. */
  static float[] inverseFrequencies(ModelConfig config) {
    int hd = config.headDim();
    float[] inv = new float[hd / 2];
    for (int j = 0; j < inv.length; j++) {
      float exponent = (float) (2 * j) / (float) hd;
      inv[j] = (float) (1.0 / (float) Math.pow(config.ropeTheta(), exponent));
    }
    RopeScaling s = config.ropeScaling();
    if (s != null) {
      double lowFreqWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
      double highFreqWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
      for (int j = 0; j < inv.length; j++) {
        double wavelen = 2 * Math.PI / inv[j];
        double scaled;
        if (wavelen > lowFreqWavelen) {
          scaled = inv[j] / s.factor();
        } else if (wavelen < highFreqWavelen) {
          scaled = inv[j];
        } else {
          double smooth =
              (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                  / (s.highFreqFactor() - s.lowFreqFactor());
          scaled = (1 - smooth) * inv[j] / s.factor() + smooth * inv[j];
        }
        inv[j] = (float) scaled;
      }
    }
    return inv;
  }

  @Override
  public void close() {
    manager.close();
  }

  /** Reads tensors with the checks that give load errors their names and shapes. */
  private record Loader(
      SafetensorsCheckpoint weights, NDManager manager, DataType type, boolean trainBase) {
    NDArray tensor(String name, long... expected) {
      if (!weights.contains(name)) {
        throw new ModelLoadException(
            weights.directory() + ": missing tensor '" + name + "' in the model's safetensors");
      }
      TensorInfo info = weights.info(name);
      if (!Arrays.equals(info.shape(), expected)) {
        throw new ModelLoadException(
            weights.directory()
                + ": tensor '"
                + name
                + "' has shape "
                + info.shapeString()
                + " but config.json implies "
                + Arrays.toString(expected));
      }
      NDArray array = manager.create(weights.readFloats(name), new Shape(expected));
      if (type != DataType.FLOAT32) {
        NDArray cast = array.toType(type, false);
        array.close();
        array = cast;
      }
      array.setName(name);
      if (trainBase) {
        array.setRequiresGradient(true);
      }
      return array;
    }
  }
}
