package dev.lorafleet.worker.training;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.model.AdapterViews;
import dev.lorafleet.worker.model.DecoderModel;
import dev.lorafleet.worker.model.LoraDropout;
import dev.lorafleet.worker.model.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A worker node's training engine: one frozen model replica per device (each GPU, or the CPU) and
 * the worker's share of each step. It returns the SUM over loss tokens of the per-token
 * cross-entropy gradients with respect to the adapter, in adapter layout, so that the shares of any
 * number of workers add up to what one worker computes for the whole batch.
 *
 * <p>Calls are not concurrent: one step or evaluation at a time.
 */
public final class ShardTrainer implements AutoCloseable {
  private final ModelConfig config;
  private final LoraConfig lora;
  private final AdapterLayout layout;
  private final TrainerOptions options;
  private final Precision precision;
  private final List<DecoderModel> replicas;
  private final ExecutorService pool;
  private final String deviceKind;

  private ShardTrainer(
      ModelConfig config,
      LoraConfig lora,
      TrainerOptions options,
      Precision precision,
      List<DecoderModel> replicas,
      String deviceKind) {
    this.config = config;
    this.lora = lora;
    this.layout = AdapterLayout.of(config, lora);
    this.options = options;
    this.precision = precision;
    this.replicas = replicas;
    this.deviceKind = deviceKind;
    this.pool =
        replicas.size() > 1
            ? Executors.newFixedThreadPool(
                replicas.size(),
                r -> {
                  Thread t = new Thread(r, "lorafleet-replica");
                  t.setDaemon(true);
                  return t;
                })
            : null;
  }

  /**
   * Loads the model in {@code modelDir} once per device.
   *
   * @throws dev.lorafleet.common.model.ModelConfigException for a bad config.json
   * @throws dev.lorafleet.common.wire.SafetensorsException for missing or corrupt weights files
   * @throws dev.lorafleet.worker.model.ModelLoadException for a missing tensor or a wrong shape
   * @throws IllegalArgumentException when more GPUs are asked for than the node has
   */
  public static ShardTrainer open(Path modelDir, LoraConfig lora, TrainerOptions options) {
    ModelConfig config = ModelConfig.load(modelDir);
    int gpus = Engine.getInstance().getGpuCount();
    List<Device> devices = new ArrayList<>();
    if (gpus == 0) {
      if (options.devices() > 1) {
        throw new IllegalArgumentException(
            options.devices() + " devices requested but this node has no GPU; use --devices auto");
      }
      devices.add(Device.cpu());
    } else {
      int n = options.devices() == 0 ? gpus : options.devices();
      if (n > gpus) {
        throw new IllegalArgumentException(
            n + " devices requested but this node has " + gpus + " GPUs");
      }
      for (int i = 0; i < n; i++) {
        devices.add(Device.gpu(i));
      }
    }
    return openOn(modelDir, lora, options, devices);
  }

  /**
   * Like {@link #open} on the given devices; tests use it to run several replicas on the CPU, which
   * exercises the split across devices without GPUs.
   */
  static ShardTrainer openOn(
      Path modelDir, LoraConfig lora, TrainerOptions options, List<Device> devices) {
    ModelConfig config = ModelConfig.load(modelDir);
    boolean gpu = devices.get(0).isGpu();
    Precision precision =
        options.precision() != null
            ? options.precision()
            : gpu ? Precision.BF16 : Precision.FLOAT32;
    List<DecoderModel> replicas = new ArrayList<>();
    try (SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(modelDir)) {
      for (Device d : devices) {
        replicas.add(
            DecoderModel.load(
                config, weights, d, precision, (float) lora.scaling(), options.trainBase()));
      }
    } catch (RuntimeException e) {
      replicas.forEach(DecoderModel::close);
      throw e;
    }
    return new ShardTrainer(config, lora, options, precision, replicas, gpu ? "gpu" : "cpu");
  }

  public AdapterLayout layout() {
    return layout;
  }

  public ModelConfig config() {
    return config;
  }

  public int deviceCount() {
    return replicas.size();
  }

  /** {@code cpu} or {@code gpu}. */
  public String deviceKind() {
    return deviceKind;
  }

  public Precision precision() {
    return precision;
  }

  /** The model replica on one device (benchmarks and tests look inside). */
  public DecoderModel replica(int device) {
    return replicas.get(device);
  }

  /**
   * The adapter at step 0, as PEFT initialises it: A Kaiming-uniform ({@code
   * kaiming_uniform_(a=√5)}, i.e. uniform in ±1/√in), B zero. The same seed gives the same vector
   * on every worker.
   */
  public float[] initialAdapter(long seed) {
    return initialAdapter(layout, seed);
  }

  /** {@link #initialAdapter(long)} for any layout. */
  public static float[] initialAdapter(AdapterLayout layout, long seed) {
    float[] v = new float[layout.size()];
    SplittableRandom random = new SplittableRandom(seed);
    for (AdapterLayout.Entry e : layout.entries()) {
      SplittableRandom r = random.split();
      if (e.kind() == AdapterLayout.Kind.A) {
        double bound = 1.0 / Math.sqrt(e.cols());
        for (int i = 0; i < e.size(); i++) {
          v[e.offset() + i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
      }
    }
    return v;
  }

  /**
   * This worker's share of a step.
   *
   * @param adapter the current adapter parameters in layout order
   * @param examples the share's examples; their indices seed the LoRA dropout
   * @param stepSeed the step's seed (the same on every worker)
   */
  public StepResult computeGradients(
      float[] adapter, List<TokenizedExample> examples, long stepSeed) {
    checkAdapter(adapter);
    List<List<TokenizedExample>> shares = split(examples);
    List<StepResult> parts =
        runOnReplicas(shares, (replica, share) -> gradients(replica, adapter, share, stepSeed));
    float[] sum = new float[layout.size()];
    double loss = 0;
    long tokens = 0;
    for (StepResult part : parts) {
      float[] g = part.gradientSum();
      for (int i = 0; i < sum.length; i++) {
        sum[i] += g[i];
      }
      loss += part.lossSum();
      tokens += part.tokenCount();
    }
    return new StepResult(sum, loss, tokens, examples.size());
  }

  /**
   * Per-example loss sums and token counts, with the adapter (or the base model when {@code
   * adapter} is null), no dropout.
   */
  public EvalResult evaluate(float[] adapter, List<TokenizedExample> examples) {
    if (adapter != null) {
      checkAdapter(adapter);
    }
    List<List<TokenizedExample>> shares = split(examples);
    List<double[][]> parts =
        runOnReplicas(shares, (replica, share) -> evaluateShare(replica, adapter, share));
    int[] indices = new int[examples.size()];
    double[] losses = new double[examples.size()];
    long[] counts = new long[examples.size()];
    int k = 0;
    for (int s = 0; s < shares.size(); s++) {
      double[][] part = parts.get(s);
      for (int i = 0; i < shares.get(s).size(); i++) {
        indices[k] = shares.get(s).get(i).index();
        losses[k] = part[0][i];
        counts[k] = (long) part[1][i];
        k++;
      }
    }
    return new EvalResult(indices, losses, counts);
  }

  private void checkAdapter(float[] adapter) {
    if (adapter.length != layout.size()) {
      throw new IllegalArgumentException(
          "adapter has "
              + adapter.length
              + " values but this model's layout (r="
              + lora.r()
              + ", "
              + lora.expandedTargetModules()
              + ") needs "
              + layout.size());
    }
  }

  /** Contiguous shares with about equal token counts, one per replica. */
  private List<List<TokenizedExample>> split(List<TokenizedExample> examples) {
    int n = replicas.size();
    List<List<TokenizedExample>> shares = new ArrayList<>();
    if (n == 1) {
      shares.add(examples);
      return shares;
    }
    long total = 0;
    for (TokenizedExample e : examples) {
      total += e.inputIds().length;
    }
    int from = 0;
    long seen = 0;
    for (int s = 0; s < n; s++) {
      int to = from;
      long target = total * (s + 1) / n;
      while (to < examples.size()
          && (s == n - 1 || seen + examples.get(to).inputIds().length <= target || to == from)) {
        seen += examples.get(to).inputIds().length;
        to++;
      }
      shares.add(examples.subList(from, to));
      from = to;
    }
    return shares;
  }

  private interface ReplicaWork<T> {
    T run(DecoderModel replica, List<TokenizedExample> share);
  }

  private <T> List<T> runOnReplicas(List<List<TokenizedExample>> shares, ReplicaWork<T> work) {
    List<T> out = new ArrayList<>();
    if (pool == null) {
      out.add(work.run(replicas.get(0), shares.get(0)));
      return out;
    }
    List<Future<T>> futures = new ArrayList<>();
    for (int i = 0; i < replicas.size(); i++) {
      DecoderModel replica = replicas.get(i);
      List<TokenizedExample> share = shares.get(i);
      futures.add(pool.submit(() -> work.run(replica, share)));
    }
    try {
      for (Future<T> f : futures) {
        out.add(f.get());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the replicas were computing", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    }
    return out;
  }

  /** Micro-batches of similar length (less padding); the sum does not depend on the grouping. */
  private List<MicroBatch> microBatches(List<TokenizedExample> share) {
    List<TokenizedExample> sorted = new ArrayList<>(share);
    sorted.sort(Comparator.comparingInt((TokenizedExample e) -> -e.inputIds().length));
    List<MicroBatch> batches = new ArrayList<>();
    int size = options.microBatchSize();
    for (int i = 0; i < sorted.size(); i += size) {
      batches.add(
          MicroBatch.of(sorted.subList(i, Math.min(sorted.size(), i + size)), config.vocabSize()));
    }
    return batches;
  }

  private StepResult gradients(
      DecoderModel replica, float[] adapter, List<TokenizedExample> share, long stepSeed) {
    float[] gradient = new float[layout.size()];
    if (share.isEmpty()) {
      return new StepResult(gradient, 0, 0, 0);
    }
    double lossSum = 0;
    long tokens = 0;
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(true);
    try (NDManager step = replica.manager().newSubManager()) {
      NDArray flat = step.create(adapter);
      if (precision.adapter() != DataType.FLOAT32) {
        flat = flat.toType(precision.adapter(), false);
      }
      flat.setRequiresGradient(true);
      AdapterViews views = new AdapterViews(flat, layout);
      for (MicroBatch batch : microBatches(share)) {
        if (batch.lossTokens() == 0) {
          continue;
        }
        try (NDManager scope = step.newSubManager()) {
          LoraDropout dropout =
              new LoraDropout((float) lora.dropout(), stepSeed, batch.exampleIndices());
          NDArray hidden = replica.hidden(batch.idsArray(scope), batch.lengths(), views, dropout);
          NDArray loss = tokenLosses(replica, hidden, batch).sum();
          JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
          lossSum += loss.toType(DataType.FLOAT64, false).getDouble();
          tokens += batch.lossTokens();
        }
      }
      NDArray grad = flat.getGradient();
      gradient = grad.toType(DataType.FLOAT32, false).toFloatArray();
    } finally {
      JniUtils.setGradMode(gradMode);
    }
    return new StepResult(gradient, lossSum, tokens, share.size());
  }

  private double[][] evaluateShare(
      DecoderModel replica, float[] adapter, List<TokenizedExample> share) {
    double[][] out = new double[2][share.size()];
    if (share.isEmpty()) {
      return out;
    }
    java.util.Map<TokenizedExample, Integer> position = new java.util.IdentityHashMap<>();
    for (int i = 0; i < share.size(); i++) {
      position.put(share.get(i), i);
    }
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try (NDManager step = replica.manager().newSubManager()) {
      AdapterViews views = null;
      if (adapter != null) {
        NDArray flat = step.create(adapter);
        if (precision.adapter() != DataType.FLOAT32) {
          flat = flat.toType(precision.adapter(), false);
        }
        views = new AdapterViews(flat, layout);
      }
      for (MicroBatch batch : microBatches(share)) {
        if (batch.lossTokens() == 0) {
          continue;
        }
        try (NDManager scope = step.newSubManager()) {
          NDArray hidden = replica.hidden(batch.idsArray(scope), batch.lengths(), views, null);
          double[] perToken =
              tokenLosses(replica, hidden, batch).toType(DataType.FLOAT64, false).toDoubleArray();
          for (int k = 0; k < perToken.length; k++) {
            int at = position.get(batch.examples().get(batch.rowOfTarget()[k]));
            out[0][at] += perToken[k];
            out[1][at] += 1;
          }
        }
      }
    } finally {
      JniUtils.setGradMode(gradMode);
    }
    return out;
  }

  /**
   * Cross-entropy of each loss position, {@code [N]}: only the positions that carry loss go through
   * the LM head, which for prompt-heavy data saves most of its cost.
   */
  static NDArray tokenLosses(DecoderModel replica, NDArray hidden, MicroBatch batch) {
    NDManager scope = hidden.getManager();
    long h = hidden.getShape().get(2);
    NDArray flatHidden = hidden.reshape(-1, h);
    NDArray rows = scope.create(batch.rows());
    NDArray selected = flatHidden.get(new NDIndex("{}", rows));
    NDArray logits = replica.logits(selected);
    NDArray targets = scope.create(batch.targets(), new Shape(batch.lossTokens(), 1));
    return logits.logSoftmax(-1).gather(targets, 1).reshape(-1).neg();
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    replicas.forEach(DecoderModel::close);
  }
}
