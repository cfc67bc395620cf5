package dev.lorafleet.common.plan;

/**
 * Training speed of one GPU (or one CPU device), in input tokens per second, forward and backward.
 *
 * @param source how it was obtained ("given on the command line", "measured: 3 steps on cpu()")
 */
public record Throughput(double tokensPerSecondPerGpu, String source) {
  public Throughput {
    if (!(tokensPerSecondPerGpu > 0) || Double.isInfinite(tokensPerSecondPerGpu)) {
      throw new IllegalArgumentException(
          "tokens per second per GPU must be a positive number, is " + tokensPerSecondPerGpu);
    }
  }
}
