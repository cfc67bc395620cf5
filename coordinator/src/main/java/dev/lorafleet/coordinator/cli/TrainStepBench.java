package dev.lorafleet.coordinator.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.cuda.CudaUtils;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.Projection;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.model.Precision;
import dev.lorafleet.worker.model.TinyModelWriter;
import dev.lorafleet.worker.training.ShardTrainer;
import dev.lorafleet.worker.training.StepResult;
import dev.lorafleet.worker.training.TrainerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One training step of a random Llama model, LoRA against full-parameter, with the LoRA step's
 * achieved FLOP/s set against a plain DJL matrix product measured in the same run. The LoRA step
 * needs the forward pass and the backward pass to the activations (≈ 4 FLOPs per weight per token)
 * but no weight gradients; the full step also computes those (≈ 6).
 */
@Command(
    name = "train-step",
    mixinStandardHelpOptions = true,
    description =
        "Tokens/s and peak memory of a LoRA step and a full-parameter step; LoRA FLOP/s against a"
            + " plain matmul.")
final class TrainStepBench implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--hidden", defaultValue = "512", description = "Hidden size (${DEFAULT-VALUE}).")
  int hidden;

  @Option(
      names = "--intermediate",
      defaultValue = "0",
      description = "MLP size (default 2.75 × hidden, rounded to 64).")
  int intermediate;

  @Option(names = "--layers", defaultValue = "8", description = "Layers (${DEFAULT-VALUE}).")
  int layers;

  @Option(
      names = "--heads",
      defaultValue = "8",
      description = "Attention heads (${DEFAULT-VALUE}).")
  int heads;

  @Option(names = "--vocab", defaultValue = "32000", description = "Vocabulary (${DEFAULT-VALUE}).")
  int vocab;

  @Option(
      names = "--seq",
      defaultValue = "256",
      description = "Sequence length (${DEFAULT-VALUE}).")
  int seq;

  @Option(
      names = "--batch",
      defaultValue = "4",
      description = "Sequences per step (${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--rank", defaultValue = "16", description = "LoRA rank (${DEFAULT-VALUE}).")
  int rank;

  @Option(
      names = "--target-modules",
      split = ",",
      defaultValue = "all-linear",
      description = "LoRA targets (${DEFAULT-VALUE}).")
  List<String> targets;

  @Option(names = "--steps", defaultValue = "3", description = "Measured steps (${DEFAULT-VALUE}).")
  int steps;

  @Option(
      names = "--warmup",
      defaultValue = "2",
      description = "Unmeasured steps (${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--precision",
      defaultValue = "auto",
      description = "float32, bf16 or auto (bf16 on a GPU, float32 on the CPU).")
  String precisionName;

  @Option(names = "--skip-full", description = "Measure only the LoRA step.")
  boolean skipFull;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    boolean gpu = Engine.getInstance().getGpuCount() > 0;
    Precision precision =
        switch (precisionName.toLowerCase(Locale.ROOT)) {
          case "auto" -> gpu ? Precision.BF16 : Precision.FLOAT32;
          case "float32", "fp32" -> Precision.FLOAT32;
          case "bf16", "bfloat16" -> Precision.BF16;
          default ->
              throw new IllegalArgumentException(
                  "--precision must be float32, bf16 or auto, not " + precisionName);
        };
    int inter =
        intermediate > 0 ? intermediate : Math.max(64, (int) Math.round(hidden * 2.75 / 64) * 64);
    Path dir = Files.createTempDirectory("lorafleet-bench-");
    try {
      out.printf(Locale.ROOT, "writing a random model to %s ...%n", dir);
      out.flush();
      ModelConfig config =
          new TinyModelWriter()
              .optVocabSize(vocab)
              .optHiddenSize(hidden)
              .optIntermediateSize(inter)
              .optLayers(layers)
              .optHeads(heads, heads)
              .optDtype(precision == Precision.BF16 ? DType.BF16 : DType.F32)
              .optSeed(7)
              .write(dir);
      LoraConfig lora = new LoraConfig(rank, 2.0 * rank, 0.0, targets, false);
      long tokens = (long) batch * seq;
      List<TokenizedExample> examples = examples(config.vocabSize());
      out.printf(
          Locale.ROOT,
          "model: hidden %d, intermediate %d, %d layers, %d heads, vocab %d: %,d parameters;"
              + " LoRA r=%d on %s: %,d trainable%n",
          hidden,
          inter,
          layers,
          heads,
          vocab,
          config.parameterCount(),
          rank,
          lora.expandedTargetModules(),
          lora.trainableParameters(config));
      out.printf(
          Locale.ROOT,
          "step: %d sequences × %d tokens = %d tokens; device %s, %s, %d intra-op threads%n",
          batch,
          seq,
          tokens,
          gpu ? "gpu" : "cpu",
          precision,
          Runtime.getRuntime().availableProcessors());
      out.flush();

      double matmulFlops = matmulRate(precision, gpu, (int) tokens, hidden, inter);
      out.printf(
          Locale.ROOT,
          "plain matmul [%d×%d]·[%d×%d] (best 100 ms burst): %.2f GFLOP/s%n",
          tokens,
          hidden,
          hidden,
          inter,
          matmulFlops / 1e9);

      double forward = forwardFlops(config, lora, seq, batch);
      Phase loraPhase = measure(dir, lora, precision, false, examples);
      double loraFlops = (2 * forward + loraExtra(config, lora, tokens)) / loraPhase.seconds();
      out.printf(
          Locale.ROOT,
          "LoRA step (best of %d): %.3f s, %.0f tokens/s, %.2f GFLOP/s achieved, peak memory %s%n",
          steps,
          loraPhase.seconds(),
          tokens / loraPhase.seconds(),
          loraFlops / 1e9,
          mib(loraPhase.peakBytes()));
      out.flush();
      Phase fullPhase = null;
      if (!skipFull) {
        fullPhase = measure(dir, lora, precision, true, examples);
        out.printf(
            Locale.ROOT,
            "full-parameter step (weight gradients, no optimizer; best of %d): %.3f s, %.0f tokens/s, %.2f"
                + " GFLOP/s achieved, peak memory %s%n",
            steps,
            fullPhase.seconds(),
            tokens / fullPhase.seconds(),
            3 * forward / fullPhase.seconds() / 1e9,
            mib(fullPhase.peakBytes()));
      }
      String ratios =
          String.format(
              Locale.ROOT,
              "ratios: LoRA FLOP/s / matmul FLOP/s = %.2f (goal >= 0.50)",
              loraFlops / matmulFlops);
      if (fullPhase != null) {
        ratios +=
            String.format(
                Locale.ROOT,
                ", LoRA tokens/s / full tokens/s = %.2f, LoRA peak memory / full peak memory = %.2f",
                fullPhase.seconds() / loraPhase.seconds(),
                (double) loraPhase.peakBytes() / fullPhase.peakBytes());
      }
      out.println(ratios);
      out.flush();
      return 0;
    } finally {
      deleteTree(dir);
    }
  }

  private record Phase(double seconds, long peakBytes) {}

  private Phase measure(
      Path dir,
      LoraConfig lora,
      Precision precision,
      boolean full,
      List<TokenizedExample> examples) {
    System.gc();
    PeakMemory.reset();
    TrainerOptions options =
        TrainerOptions.defaults()
            .withDevices(Engine.getInstance().getGpuCount() > 0 ? 1 : 0)
            .withMicroBatchSize(batch)
            .withPrecision(precision)
            .withTrainBase(full);
    try (ShardTrainer trainer = ShardTrainer.open(dir, lora, options)) {
      float[] adapter = trainer.initialAdapter(1);
      for (int i = 0; i < warmup; i++) {
        check(trainer.computeGradients(adapter, examples, i));
      }
      // best of the measured steps: on a shared machine the fastest step is the one least
      // disturbed by other processes, and the matmul rate is taken the same way
      double seconds = Double.MAX_VALUE;
      for (int i = 0; i < steps; i++) {
        long start = System.nanoTime();
        check(trainer.computeGradients(adapter, examples, 100 + i));
        seconds = Math.min(seconds, (System.nanoTime() - start) / 1e9);
      }
      return new Phase(seconds, PeakMemory.peakBytes(trainer.replica(0).device()));
    }
  }

  private static void check(StepResult r) {
    if (!Double.isFinite(r.lossSum())) {
      throw new IllegalStateException("the benchmark step produced a non-finite loss");
    }
  }

  private List<TokenizedExample> examples(int vocabSize) {
    SplittableRandom random = new SplittableRandom(3);
    List<TokenizedExample> list = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      int[] ids = new int[seq];
      for (int t = 0; t < seq; t++) {
        ids[t] = random.nextInt(vocabSize);
      }
      list.add(new TokenizedExample(i, ids, ids.clone()));
    }
    return list;
  }

  /**
   * Forward FLOPs of one step: 2 per multiply-add of every projection and the LM head for every
   * token (every position carries loss here), plus the two attention products over the full T×T
   * square that is computed.
   */
  static double forwardFlops(ModelConfig c, LoraConfig lora, int seq, int batch) {
    double tokens = (double) seq * batch;
    double macsPerToken = (double) c.vocabSize() * c.hiddenSize();
    for (Projection p : Projection.values()) {
      macsPerToken += (double) c.inFeatures(p) * c.outFeatures(p) * c.numHiddenLayers();
    }
    double attention =
        2.0 * seq * seq * c.numAttentionHeads() * c.headDim() * c.numHiddenLayers() * batch;
    return 2 * (macsPerToken * tokens + attention);
  }

  /** LoRA's own FLOPs: forward, and backward to both the input and the adapter (≈ 3× forward). */
  static double loraExtra(ModelConfig c, LoraConfig lora, long tokens) {
    double macs = 0;
    for (Projection p : lora.projections()) {
      macs += (double) lora.r() * (c.inFeatures(p) + c.outFeatures(p)) * c.numHiddenLayers();
    }
    return 3 * 2 * macs * tokens;
  }

  /** FLOP/s of a plain DJL matrix product shaped like the MLP's up projection. */
  private double matmulRate(Precision precision, boolean gpu, int m, int k, int n) {
    Device device = gpu ? Device.gpu(0) : Device.cpu();
    try (NDManager manager = NDManager.newBaseManager(device)) {
      DataType type = precision.weights();
      NDArray a = manager.randomNormal(new Shape(m, k)).toType(type, false);
      NDArray b = manager.randomNormal(new Shape(k, n)).toType(type, false);
      for (int i = 0; i < 3; i++) {
        a.matMul(b).close();
      }
      // bursts of at least 100 ms for at least 2 s; the best burst is the rate
      double best = 0;
      long begin = System.nanoTime();
      while (System.nanoTime() - begin < 2_000_000_000L) {
        int reps = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
          NDArray c = a.matMul(b);
          if (gpu) {
            c.toType(DataType.FLOAT32, false).sum().getFloat(); // wait for the device
          }
          c.close();
          reps++;
          elapsed = System.nanoTime() - start;
        } while (elapsed < 100_000_000L);
        best = Math.max(best, 2.0 * m * k * n * reps / (elapsed / 1e9));
      }
      return best;
    }
  }

  private static String mib(long bytes) {
    return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Peak memory of a phase: on Linux the process's peak resident set (VmHWM, reset by writing 5 to
   * /proc/self/clear_refs); on a GPU the device memory in use afterwards, which PyTorch's caching
   * allocator holds at its high-water mark.
   */
  static final class PeakMemory {
    private PeakMemory() {}

    static void reset() {
      try {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      } catch (IOException | RuntimeException e) {
        // not Linux or not permitted: the figure then covers the whole run so far
      }
    }

    static long peakBytes(Device device) {
      if (device.isGpu()) {
        return CudaUtils.getGpuMemory(device).getUsed();
      }
      try {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
          if (line.startsWith("VmHWM:")) {
            return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
          }
        }
      } catch (IOException | RuntimeException e) {
        return -1;
      }
      return -1;
    }
  }
}
