package dev.lorafleet.worker.training;

/**
 * Per-example evaluation: for example {@code i} (in the order given), the summed cross-entropy over
 * its loss tokens and their count.
 */
public record EvalResult(int[] indices, double[] lossSums, long[] tokenCounts) {
  /** Sum of all examples' losses. */
  public double totalLoss() {
    double s = 0;
    for (double v : lossSums) {
      s += v;
    }
    return s;
  }

  /** Total loss tokens. */
  public long totalTokens() {
    long n = 0;
    for (long v : tokenCounts) {
      n += v;
    }
    return n;
  }

  /** Mean cross-entropy per loss token (NaN without tokens). */
  public double meanLoss() {
    long n = totalTokens();
    return n == 0 ? Double.NaN : totalLoss() / n;
  }

  /** {@code exp(meanLoss)}. */
  public double perplexity() {
    return Math.exp(meanLoss());
  }

  /** Mean loss of one example, Hugging Face's per-sequence value (NaN without tokens). */
  public double exampleLoss(int i) {
    return tokenCounts[i] == 0 ? Double.NaN : lossSums[i] / tokenCounts[i];
  }
}
