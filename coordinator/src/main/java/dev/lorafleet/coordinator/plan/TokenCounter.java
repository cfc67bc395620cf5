package dev.lorafleet.coordinator.plan;

import dev.lorafleet.common.plan.EpochTokens;
import dev.lorafleet.common.plan.TokenCounts;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.coordinator.job.ShardPlanner;
import dev.lorafleet.worker.data.DatasetException;
import dev.lorafleet.worker.data.DatasetTokenizer;
import dev.lorafleet.worker.data.TokenizedDataset;
import dev.lorafleet.worker.data.TokenizedExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Counts a job's training tokens per epoch exactly as training will see them: every dataset
 * tokenized with the model's tokenizer and prompt format and cut at {@code maxSeqLen} ({@link
 * DatasetTokenizer}), then each epoch's samples drawn by the job's own {@link ShardPlanner} (same
 * weights, batch size and seed), so an under-weighted dataset contributes different examples, and
 * different token counts, in different epochs.
 */
public final class TokenCounter {
  private TokenCounter() {}

  /** Token counts, or why they cannot be had: exactly one of the two is set. */
  public record Result(TokenCounts counts, String unavailable) {}

  /** Counts the tokens of a spec whose paths are absolute (or relative to the working dir). */
  public static Result count(JobSpec spec) {
    Path modelDir = Path.of(spec.model());
    if (!Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
      return unavailable(
          "no tokenizer.json in "
              + modelDir
              + "; copy the model's tokenizer files beside its config.json to count tokens");
    }
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < spec.datasets().size(); i++) {
      Path file = Path.of(spec.datasets().get(i).path());
      if (!Files.isRegularFile(file)) {
        missing.add("datasets[" + i + "] " + file);
      }
    }
    if (!missing.isEmpty()) {
      return unavailable("dataset not found on this machine: " + String.join(", ", missing));
    }
    JobSpec.Training training = spec.training();
    JobSpec.OnBadRecord policy = training.onBadRecord();
    int n = spec.datasets().size();
    int[] sizes = new int[n];
    double[] weights = new double[n];
    List<int[]> lengths = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    try (DatasetTokenizer tokenizer = DatasetTokenizer.open(modelDir, training.maxSeqLen())) {
      int first = 0;
      for (int i = 0; i < n; i++) {
        JobSpec.Dataset dataset = spec.datasets().get(i);
        TokenizedDataset tokenized = tokenizer.tokenize(Path.of(dataset.path()), policy, first);
        int[] l = new int[tokenized.size()];
        for (int j = 0; j < l.length; j++) {
          TokenizedExample example = tokenized.examples().get(j);
          l[j] = example.inputIds().length;
        }
        lengths.add(l);
        sizes[i] = l.length;
        weights[i] = dataset.weight();
        first += l.length;
        notes.add(tokenized.summary(training.maxSeqLen()));
      }
    } catch (DatasetException | IllegalArgumentException e) {
      return unavailable(e.getMessage());
    }
    int[] lengthOf = concat(lengths);
    ShardPlanner planner =
        new ShardPlanner(sizes, weights, training.globalBatchSize(), training.seed());
    int[] perDataset = planner.samplesPerDataset();
    StringBuilder mix = new StringBuilder("each epoch draws");
    for (int i = 0; i < n; i++) {
      mix.append(i == 0 ? " " : ", ")
          .append(String.format(Locale.ROOT, "%,d of %,d examples", perDataset[i], sizes[i]))
          .append(" from datasets[")
          .append(i)
          .append("] (weight ")
          .append(weights[i])
          .append(')');
    }
    notes.add(mix.toString());
    List<EpochTokens> epochs = new ArrayList<>();
    for (int e = 0; e < training.epochs(); e++) {
      long tokens = 0;
      for (int index : planner.epochOrder(e)) {
        tokens += lengthOf[index];
      }
      epochs.add(new EpochTokens(e, (long) planner.epochSize(), tokens));
    }
    return new Result(
        new TokenCounts(
            epochs,
            "counted with the model's tokenizer and prompt format, cut at maxSeqLen "
                + training.maxSeqLen()
                + ", datasets mixed by weight as the shard planner does (seed "
                + training.seed()
                + "); prompt tokens included, padding not",
            notes),
        null);
  }

  private static Result unavailable(String why) {
    return new Result(null, why);
  }

  private static int[] concat(List<int[]> parts) {
    int total = 0;
    for (int[] p : parts) {
      total += p.length;
    }
    int[] out = new int[total];
    int at = 0;
    for (int[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
