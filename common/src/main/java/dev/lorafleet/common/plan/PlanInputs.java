package dev.lorafleet.common.plan;

/**
 * What a plan needs beyond the spec and {@code config.json}, each optional: without tokens or a
 * throughput the time and money figures are left out, and the reason given here says why.
 *
 * @param tokens training tokens per epoch, or null
 * @param tokensUnavailable why there are no token counts (null when there are)
 * @param throughput tokens per second per GPU, or null
 * @param throughputUnavailable why there is no throughput (null when there is)
 */
public record PlanInputs(
    TokenCounts tokens,
    String tokensUnavailable,
    Throughput throughput,
    String throughputUnavailable) {

  public PlanInputs {
    if ((tokens == null) == (tokensUnavailable == null)) {
      throw new IllegalArgumentException("give either token counts or why they are unavailable");
    }
    if ((throughput == null) == (throughputUnavailable == null)) {
      throw new IllegalArgumentException("give either a throughput or why it is unavailable");
    }
  }
}
