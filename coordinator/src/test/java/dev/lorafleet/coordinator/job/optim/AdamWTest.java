package dev.lorafleet.coordinator.job.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class AdamWTest {

  @Test
  void firstStepMovesEachParameterByLrTimesSignOfGradient() {
    // step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g)
    float[] p = {1.0f, -2.0f, 0.5f};
    AdamW adam = new AdamW(p, 0.0);
    adam.step(new float[] {0.3f, -4.0f, 1e-3f}, 0.1);
    assertThat(adam.params()[0]).isCloseTo(0.9f, within(1e-6f));
    assertThat(adam.params()[1]).isCloseTo(-1.9f, within(1e-6f));
    assertThat(adam.params()[2]).isCloseTo(0.4f, within(1e-5f));
    assertThat(adam.stepsTaken()).isEqualTo(1);
  }

  @Test
  void aStepLeavesTheArrayItWasGivenAsItWasAndTheStepAfterReusesIt() {
    // the data plane sends params() without a copy: the next step must not change that array
    float[] p = {1.0f, -2.0f};
    AdamW adam = new AdamW(p, 0.0);
    adam.step(new float[] {0.5f, 0.5f}, 0.1);
    float[] first = adam.params();
    assertThat(first).isNotSameAs(p);
    assertThat(p).containsExactly(1.0f, -2.0f);
    float[] firstValues = first.clone();
    adam.step(new float[] {0.5f, 0.5f}, 0.1);
    assertThat(first).containsExactly(firstValues);
    assertThat(adam.params()).isSameAs(p).isNotEqualTo(firstValues);
  }

  @Test
  void appliesDecoupledWeightDecayBeforeTheAdamUpdate() {
    float[] p = {2.0f};
    AdamW adam = new AdamW(p, 0.1);
    adam.step(new float[] {1.0f}, 0.01);
    // p * (1 - lr*wd) - lr * sign(g) = 2 * 0.999 - 0.01
    assertThat(adam.params()[0]).isCloseTo(1.988f, within(1e-6f));
  }

  @Test
  void matchesTorchFormulaOverThreeStepsWithBiasCorrection() {
    double lr = 1e-2;
    double wd = 0.01;
    double[][] grads = {{0.5, -1.0}, {0.1, 2.0}, {-0.7, 0.05}};
    float[] p = {0.3f, -0.2f};
    AdamW adam = new AdamW(p, wd);
    // reference written independently in double precision
    double[] rp = {0.3, -0.2};
    double[] rm = new double[2];
    double[] rv = new double[2];
    for (int t = 1; t <= 3; t++) {
      double[] g = grads[t - 1];
      for (int i = 0; i < 2; i++) {
        rp[i] -= lr * wd * rp[i];
        rm[i] = 0.9 * rm[i] + 0.1 * g[i];
        rv[i] = 0.999 * rv[i] + 0.001 * g[i] * g[i];
        double mHat = rm[i] / (1 - Math.pow(0.9, t));
        double vHat = rv[i] / (1 - Math.pow(0.999, t));
        rp[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
      }
      adam.step(new float[] {(float) g[0], (float) g[1]}, lr);
    }
    assertThat((double) adam.params()[0]).isCloseTo(rp[0], within(1e-6));
    assertThat((double) adam.params()[1]).isCloseTo(rp[1], within(1e-6));
    assertThat((double) adam.expAvg()[1]).isCloseTo(rm[1], within(1e-6));
    assertThat((double) adam.expAvgSq()[1]).isCloseTo(rv[1], within(1e-7));
  }
}
