package dev.lorafleet.worker.data;

/**
 * One training or eval example after templating and tokenization.
 *
 * @param index the example's global index in the job's training (or eval) set; it seeds the
 *     example's LoRA dropout so that any split of a step over workers computes the same thing
 * @param inputIds token ids, at most {@code maxSeqLen}
 * @param labels same length as {@code inputIds}; {@code -100} where the loss is masked (prompt
 *     tokens). The model shifts: position {@code t} predicts {@code labels[t]} from ids {@code <
 *     t}, as Hugging Face does.
 */
public record TokenizedExample(int index, int[] inputIds, int[] labels) {
  public static final int IGNORE_INDEX = -100;

  public TokenizedExample {
    if (inputIds.length != labels.length) {
      throw new IllegalArgumentException(
          "example " + index + ": " + inputIds.length + " ids but " + labels.length + " labels");
    }
  }

  /** Tokens that carry loss (after the shift by one). */
  public int lossTokens() {
    int n = 0;
    for (int t = 1; t < labels.length; t++) {
      if (labels[t] != IGNORE_INDEX) {
        n++;
      }
    }
    return n;
  }
}
