package dev.lorafleet.worker.data;

import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import java.nio.file.Path;
import java.util.List;

/**
 * A tokenized JSONL file with what happened on the way.
 *
 * @param file the dataset file
 * @param examples the usable records, indexed from the {@code firstIndex} given to {@link
 *     DatasetTokenizer#tokenize}
 * @param truncatedCount examples cut at {@code maxSeqLen}
 * @param noLossCount examples left without any loss token (their response was cut off entirely)
 * @param skippedCount records skipped under {@link OnBadRecord#SKIP}
 * @param skippedReasons the first few skipped records as {@code file:line: reason}
 * @param tokenCount all tokens of all examples
 */
public record TokenizedDataset(
    Path file,
    List<TokenizedExample> examples,
    int truncatedCount,
    int noLossCount,
    int skippedCount,
    List<String> skippedReasons,
    long tokenCount) {

  /** How many skip reasons are kept; the count covers them all. */
  public static final int MAX_REASONS_KEPT = 5;

  public TokenizedDataset {
    examples = List.copyOf(examples);
    skippedReasons = List.copyOf(skippedReasons);
  }

  public int size() {
    return examples.size();
  }

  /** One line for logs, for example "train.jsonl: 1200 examples, 3 truncated at 2048 tokens". */
  public String summary(int maxSeqLen) {
    StringBuilder sb =
        new StringBuilder()
            .append(file)
            .append(": ")
            .append(examples.size())
            .append(" examples, ")
            .append(tokenCount)
            .append(" tokens");
    if (truncatedCount > 0) {
      sb.append(", ").append(truncatedCount).append(" truncated at ").append(maxSeqLen);
      sb.append(" tokens");
    }
    if (noLossCount > 0) {
      sb.append(", ").append(noLossCount).append(" left without response tokens");
    }
    if (skippedCount > 0) {
      sb.append(", ").append(skippedCount).append(" bad lines skipped (first: ");
      sb.append(skippedReasons.get(0)).append(')');
    }
    return sb.toString();
  }
}
