package dev.lorafleet.common.spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A LoRA fine-tuning job exactly as DESIGN.md's job spec describes it, with every default filled
 * in. Build one with {@link JobSpecParser} (which checks it) or directly and check it with {@link
 * JobSpecParser#validate(JobSpec)}.
 *
 * <p>Required: {@code name}, {@code model}, {@code datasets}. Defaults where DESIGN.md is silent
 * (chosen to match what LLaMA-Factory / PEFT / the Hugging Face Trainer users expect):
 *
 * <pre>
 * datasets[].weight        1.0 (weights are relative; they need not sum to 1)
 * eval                     []
 * lora                     r 8, alpha 2·r, dropout 0.0, targetModules [q_proj, v_proj],
 *                          useRslora false
 * training                 epochs 3, learningRate 1e-4, scheduler cosine, warmupSteps 0,
 *                          globalBatchSize 32, microBatchSize 4, maxSeqLen 2048, seed 42,
 *                          weightDecay 0.0, maxGradNorm 1.0 (0 = no clipping),
 *                          onBadRecord fail, gradientDtype fp32
 * cluster                  workers 1, gpusPerWorker 1, pricePerGpuHour 0.0, currency USD
 * checkpoint               everySteps 500, keepLast 3 (at least 2: the newest checkpoint may be
 *                          the one a crash interrupted, so one older must survive)
 * </pre>
 */
public record JobSpec(
    String name,
    String model,
    List<Dataset> datasets,
    List<EvalSet> eval,
    Lora lora,
    Training training,
    Cluster cluster,
    Checkpoint checkpoint) {

  public JobSpec {
    datasets = datasets == null ? null : List.copyOf(datasets);
    eval = eval == null ? List.of() : List.copyOf(eval);
    lora = lora == null ? Lora.DEFAULT : lora;
    training = training == null ? Training.DEFAULT : training;
    cluster = cluster == null ? Cluster.DEFAULT : cluster;
    checkpoint = checkpoint == null ? Checkpoint.DEFAULT : checkpoint;
  }

  /** A training dataset (JSONL, alpaca or chat records) and its relative sampling weight. */
  public record Dataset(String path, double weight) {
    public static final double DEFAULT_WEIGHT = 1.0;
  }

  /** A held-out set evaluated at every epoch end; its loss is reported under {@code name}. */
  public record EvalSet(String name, String path) {}

  /**
   * The adapter shape. Each targeted linear layer computes {@code W x + scaling · B A x} with
   * {@code scaling = alpha / r}, or {@code alpha / sqrt(r)} with rank-stabilised LoRA.
   */
  public record Lora(
      int r, double alpha, double dropout, List<String> targetModules, boolean useRslora) {
    /** The projection names a spec may target; {@code all-linear} means all seven. */
    public static final List<String> LINEAR_MODULES =
        List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public static final String ALL_LINEAR = "all-linear";
    public static final int DEFAULT_R = 8;
    public static final Lora DEFAULT =
        new Lora(DEFAULT_R, 2.0 * DEFAULT_R, 0.0, List.of("q_proj", "v_proj"), false);

    public Lora {
      targetModules = targetModules == null ? null : List.copyOf(targetModules);
    }

    /** The factor on the LoRA path: {@code alpha / r}, or {@code alpha / sqrt(r)} (rsLoRA). */
    public double scaling() {
      return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /**
     * The targeted projections in the model's layer order, with {@code all-linear} expanded; this
     * order is the order of modules inside a layer in the adapter layout.
     */
    public List<String> resolvedTargetModules() {
      if (targetModules.contains(ALL_LINEAR)) {
        return LINEAR_MODULES;
      }
      List<String> ordered = new ArrayList<>();
      for (String module : LINEAR_MODULES) {
        if (targetModules.contains(module)) {
          ordered.add(module);
        }
      }
      return List.copyOf(ordered);
    }
  }

  /** Optimisation settings: AdamW on an fp32 master copy with warmup then the scheduler. */
  public record Training(
      int epochs,
      double learningRate,
      Scheduler scheduler,
      int warmupSteps,
      int globalBatchSize,
      int microBatchSize,
      int maxSeqLen,
      long seed,
      double weightDecay,
      double maxGradNorm,
      OnBadRecord onBadRecord,
      GradientDtype gradientDtype) {
    public static final Training DEFAULT =
        new Training(
            3,
            1.0e-4,
            Scheduler.COSINE,
            0,
            32,
            4,
            2048,
            42L,
            0.0,
            1.0,
            OnBadRecord.FAIL,
            GradientDtype.FP32);

    public Training {
      scheduler = scheduler == null ? Scheduler.COSINE : scheduler;
      onBadRecord = onBadRecord == null ? OnBadRecord.FAIL : onBadRecord;
      gradientDtype = gradientDtype == null ? GradientDtype.FP32 : gradientDtype;
    }
  }

  /** The fleet the job wants and what one GPU-hour of it costs. */
  public record Cluster(int workers, int gpusPerWorker, double pricePerGpuHour, String currency) {
    public static final Cluster DEFAULT = new Cluster(1, 1, 0.0, "USD");
  }

  /** How often adapters are checkpointed and how many step checkpoints are kept. */
  public record Checkpoint(int everySteps, int keepLast) {
    /** Never fewer: the newest may be the one a crash interrupted. */
    public static final int MIN_KEEP_LAST = 2;

    public static final Checkpoint DEFAULT = new Checkpoint(500, 3);
  }

  /** Learning-rate schedule after the linear warmup. */
  public enum Scheduler implements SpecEnum {
    COSINE,
    LINEAR,
    CONSTANT
  }

  /** What a dataset line that cannot be read does: fail the job, or skip it and count it. */
  public enum OnBadRecord implements SpecEnum {
    FAIL,
    SKIP
  }

  /** The dtype gradients travel in between workers and coordinator. */
  public enum GradientDtype implements SpecEnum {
    FP32,
    BF16
  }

  /** Enums are written in specs in lower case ({@code cosine}, {@code bf16}). */
  public interface SpecEnum {
    String name();

    default String specName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * This spec with every relative path made absolute against {@code baseDir} (the directory of the
   * spec file, for the command line clients). Absolute paths are kept as written.
   */
  public JobSpec withPathsResolvedAgainst(Path baseDir) {
    Objects.requireNonNull(baseDir, "baseDir");
    List<Dataset> resolvedDatasets = new ArrayList<>();
    for (Dataset dataset : datasets) {
      resolvedDatasets.add(new Dataset(resolve(baseDir, dataset.path()), dataset.weight()));
    }
    List<EvalSet> resolvedEval = new ArrayList<>();
    for (EvalSet set : eval) {
      resolvedEval.add(new EvalSet(set.name(), resolve(baseDir, set.path())));
    }
    return new JobSpec(
        name,
        resolve(baseDir, model),
        resolvedDatasets,
        resolvedEval,
        lora,
        training,
        cluster,
        checkpoint);
  }

  /** Whether any path in this spec is relative (so depends on where it is read). */
  public boolean hasRelativePaths() {
    if (!Path.of(model).isAbsolute()) {
      return true;
    }
    for (Dataset dataset : datasets) {
      if (!Path.of(dataset.path()).isAbsolute()) {
        return true;
      }
    }
    for (EvalSet set : eval) {
      if (!Path.of(set.path()).isAbsolute()) {
        return true;
      }
    }
    return false;
  }

  private static String resolve(Path baseDir, String path) {
    Path p = Path.of(path);
    return p.isAbsolute() ? path : baseDir.toAbsolutePath().resolve(p).normalize().toString();
  }
}
