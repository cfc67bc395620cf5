package dev.lorafleet.coordinator.job;

/**
 * SplitMix64: a tiny generator whose sequence is fixed by its published algorithm, not by a JDK
 * version, so a resumed job on another machine replays exactly the same data order.
 */
final class SplitMix64 {
  private long state;

  SplitMix64(long seed) {
    this.state = seed;
  }

  long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, bound) without modulo bias. */
  int nextInt(int bound) {
    long limit = Long.remainderUnsigned(-1L, bound);
    while (true) {
      long r = nextLong();
      if (Long.compareUnsigned(r, -1L - limit) < 0 || limit == bound - 1) {
        return (int) Long.remainderUnsigned(r, bound);
      }
    }
  }

  /** Mixes several values into one seed (order matters). */
  static long mix(long... parts) {
    long h = 0x2545F4914F6CDD1DL;
    for (long part : parts) {
      h = new SplitMix64(h ^ part).nextLong();
    }
    return h;
  }

  /** Fisher-Yates shuffle in place. */
  void shuffle(int[] values) {
    for (int i = values.length - 1; i > 0; i--) {
      int j = nextInt(i + 1);
      int t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }
}
