package dev.lorafleet.coordinator.job.optim;

/**
 * AdamW on an fp32 master copy with exactly {@code torch.optim.AdamW}'s arithmetic (decoupled
 * weight decay applied before the moment update, bias correction, eps added after the corrected
 * square root), so a run here matches a PyTorch run on the same gradients to float rounding. Not
 * thread safe: the job runner owns one and steps it on one thread at a time.
 */
public final class AdamW {
  public static final double DEFAULT_BETA1 = 0.9;
  public static final double DEFAULT_BETA2 = 0.999;
  public static final double DEFAULT_EPS = 1e-8;

  private float[] params;

  /** Where the next step writes the new parameters; then the two arrays swap. */
  private float[] next;

  private final float[] m;
  private final float[] v;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private long t;

  /** Takes ownership of {@code params}; moments start at zero. */
  public AdamW(float[] params, double weightDecay) {
    this(
        params,
        new float[params.length],
        new float[params.length],
        0,
        DEFAULT_BETA1,
        DEFAULT_BETA2,
        DEFAULT_EPS,
        weightDecay);
  }

  /** Restores a state (from a checkpoint): parameters, both moments and steps taken. */
  public AdamW(
      float[] params,
      float[] m,
      float[] v,
      long stepsTaken,
      double beta1,
      double beta2,
      double eps,
      double weightDecay) {
    if (m.length != params.length || v.length != params.length) {
      throw new IllegalArgumentException(
          "optimizer state lengths differ: params "
              + params.length
              + ", exp_avg "
              + m.length
              + ", exp_avg_sq "
              + v.length);
    }
    this.params = params;
    this.m = m;
    this.v = v;
    this.t = stepsTaken;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /** One update with the (already averaged and clipped) gradient {@code g} at rate {@code lr}. */
  public void step(float[] g, double lr) {
    if (g.length != params.length) {
      throw new IllegalArgumentException(
          "gradient has " + g.length + " values, adapter has " + params.length);
    }
    t++;
    float decay = (float) (1.0 - lr * weightDecay);
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float oneMinusB1 = (float) (1.0 - beta1);
    float oneMinusB2 = (float) (1.0 - beta2);
    double biasCorrection1 = 1.0 - Math.pow(beta1, t);
    double biasCorrection2 = 1.0 - Math.pow(beta2, t);
    float stepSize = (float) (lr / biasCorrection1);
    float sqrtBc2 = (float) Math.sqrt(biasCorrection2);
    float epsF = (float) eps;
    boolean decays = weightDecay != 0.0;
    if (next == null) {
      next = new float[params.length];
    }
    float[] out = next;
    for (int i = 0; i < params.length; i++) {
      float gi = g[i];
      float p = decays ? params[i] * decay : params[i];
      float mi = m[i] * b1 + oneMinusB1 * gi;
      float vi = v[i] * b2 + oneMinusB2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      float denom = (float) Math.sqrt(vi) / sqrtBc2 + epsF;
      out[i] = p - stepSize * (mi / denom);
    }
    next = params;
    params = out;
  }

  /**
   * The master parameters. A step writes its result into a second array and swaps the two, so the
   * array returned here is not changed by the next step, only by the one after it. That lets the
   * data plane send it (and re-send it to a late worker) without a copy until the next version
   * replaces it.
   */
  public float[] params() {
    return params;
  }

  /** First moment ({@code exp_avg} in PyTorch). */
  public float[] expAvg() {
    return m;
  }

  /** Second moment ({@code exp_avg_sq} in PyTorch). */
  public float[] expAvgSq() {
    return v;
  }

  public long stepsTaken() {
    return t;
  }

  public double beta1() {
    return beta1;
  }

  public double beta2() {
    return beta2;
  }

  public double eps() {
    return eps;
  }

  public double weightDecay() {
    return weightDecay;
  }
}
