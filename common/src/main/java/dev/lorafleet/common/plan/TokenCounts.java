package dev.lorafleet.common.plan;

import java.util.List;

/**
 * Training tokens per epoch and where they came from.
 *
 * @param epochs one entry per epoch of the job (they differ when mixing weights draw different
 *     examples of a dataset in different epochs)
 * @param source a sentence saying how they were counted
 * @param notes per-dataset lines (examples, tokens, truncations), possibly empty
 */
public record TokenCounts(List<EpochTokens> epochs, String source, List<String> notes) {
  public TokenCounts {
    epochs = List.copyOf(epochs);
    notes = List.copyOf(notes);
    if (epochs.isEmpty()) {
      throw new IllegalArgumentException("token counts need at least one epoch");
    }
  }

  /** The same token count for every one of {@code epochs} epochs (a figure the user gave). */
  public static TokenCounts uniform(int epochs, long tokensPerEpoch, String source) {
    EpochTokens[] list = new EpochTokens[epochs];
    for (int e = 0; e < epochs; e++) {
      list[e] = new EpochTokens(e, null, tokensPerEpoch);
    }
    return new TokenCounts(List.of(list), source, List.of());
  }

  /** The mean over epochs, rounded. */
  public long meanTokensPerEpoch() {
    long sum = 0;
    for (EpochTokens e : epochs) {
      sum += e.tokens();
    }
    return Math.round(sum / (double) epochs.size());
  }
}
