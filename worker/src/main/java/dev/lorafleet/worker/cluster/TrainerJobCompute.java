package dev.lorafleet.worker.cluster;

import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.spec.PathPolicy;
import dev.lorafleet.worker.data.DatasetTokenizer;
import dev.lorafleet.worker.data.TokenizedDataset;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.training.EvalResult;
import dev.lorafleet.worker.training.ShardTrainer;
import dev.lorafleet.worker.training.StepResult;
import dev.lorafleet.worker.training.TrainerOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A job's compute on this node over the training core: the base model loaded once per device
 * ({@link ShardTrainer}) and the job's datasets tokenized once ({@link DatasetTokenizer}), with
 * global example indices counting across the training datasets in spec order.
 */
public final class TrainerJobCompute implements JobCompute {
  private final ShardTrainer trainer;
  private final List<TokenizedExample> train;
  private final int[] trainCounts;
  private final List<List<TokenizedExample>> evals;
  private final String modelConfigJson;

  private TrainerJobCompute(
      ShardTrainer trainer,
      List<TokenizedExample> train,
      int[] trainCounts,
      List<List<TokenizedExample>> evals,
      String modelConfigJson) {
    this.trainer = trainer;
    this.train = train;
    this.trainCounts = trainCounts;
    this.evals = evals;
    this.modelConfigJson = modelConfigJson;
  }

  /** Opens jobs with the trainer; {@code deviceKind} says whether the node has GPUs. */
  public static JobComputeFactory factory(String deviceKind) {
    return (specYaml, modelDir, trainFiles, evalFiles, deviceCount) -> {
      Path config = modelDir.resolve(ModelConfig.FILE_NAME);
      if (!Files.isRegularFile(config)) {
        throw new dev.lorafleet.worker.model.ModelLoadException(
            "base model not found: "
                + config
                + " does not exist (the model must be present on every node at the spec's path)");
      }
      JobSpec spec = new JobSpecParser(PathPolicy.permissive(), 1 << 20).parse(specYaml);
      JobSpec.Lora l = spec.lora();
      LoraConfig lora =
          new LoraConfig(l.r(), l.alpha(), l.dropout(), l.targetModules(), l.useRslora());
      int devices = deviceKind.equals("cpu") ? 1 : deviceCount;
      ShardTrainer trainer =
          ShardTrainer.open(
              modelDir,
              lora,
              TrainerOptions.defaults()
                  .withDevices(devices)
                  .withMicroBatchSize(spec.training().microBatchSize()));
      try (DatasetTokenizer tokenizer =
          DatasetTokenizer.open(modelDir, spec.training().maxSeqLen())) {
        List<TokenizedExample> examples = new ArrayList<>();
        int[] counts = new int[trainFiles.size()];
        for (int i = 0; i < trainFiles.size(); i++) {
          TokenizedDataset d =
              tokenizer.tokenize(trainFiles.get(i), spec.training().onBadRecord(), examples.size());
          counts[i] = d.size();
          examples.addAll(d.examples());
        }
        List<List<TokenizedExample>> evals = new ArrayList<>();
        for (Path file : evalFiles) {
          evals.add(tokenizer.tokenize(file, spec.training().onBadRecord(), 0).examples());
        }
        return new TrainerJobCompute(
            trainer, List.copyOf(examples), counts, evals, Files.readString(config));
      } catch (RuntimeException | IOException e) {
        trainer.close();
        throw e;
      }
    };
  }

  @Override
  public int[] trainExampleCounts() {
    return trainCounts.clone();
  }

  @Override
  public int[] evalExampleCounts() {
    return evals.stream().mapToInt(List::size).toArray();
  }

  @Override
  public int adapterLength() {
    return trainer.layout().size();
  }

  @Override
  public String modelConfigJson() {
    return modelConfigJson;
  }

  @Override
  public float[] initialAdapter(long seed) {
    return trainer.initialAdapter(seed);
  }

  @Override
  public Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed) {
    List<TokenizedExample> share = new ArrayList<>(exampleIndices.length);
    for (int index : exampleIndices) {
      if (index < 0 || index >= train.size()) {
        throw new IllegalArgumentException(
            "example " + index + " does not exist: the job has " + train.size() + " examples");
      }
      share.add(train.get(index));
    }
    StepResult r = trainer.computeGradients(adapter, share, stepSeed);
    return new Gradients(r.gradientSum(), r.tokenCount(), r.lossSum(), r.examples());
  }

  @Override
  public EvalLoss evaluate(float[] adapter, int evalIndex, int[] exampleIndices) {
    List<TokenizedExample> set = evals.get(evalIndex);
    List<TokenizedExample> share = new ArrayList<>(exampleIndices.length);
    for (int index : exampleIndices) {
      share.add(set.get(index));
    }
    EvalResult r = trainer.evaluate(adapter, share);
    return new EvalLoss(r.totalLoss(), r.totalTokens(), share.size());
  }

  @Override
  public void close() {
    trainer.close();
  }
}
