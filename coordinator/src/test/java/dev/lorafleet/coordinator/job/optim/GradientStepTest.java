package dev.lorafleet.coordinator.job.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class GradientStepTest {
  private final LrSchedule constant = new LrSchedule(LrSchedule.Kind.CONSTANT, 0.1, 0, 100);

  @Test
  void dividesByTokenCountThenClipsToMaxNorm() {
    float[] p = {0f, 0f};
    GradientStep step = new GradientStep(new AdamW(p, 0.0), constant, 1.0);
    float[] sum = {30f, 40f};
    GradientStep.Outcome outcome = step.apply(sum, 10, 0);
    assertThat(outcome.applied()).isTrue();
    assertThat(outcome.gradNorm()).isCloseTo(5.0, within(1e-9));
    // averaged gradient (3, 4) clipped to unit norm
    assertThat(sum[0]).isCloseTo(0.6f, within(1e-6f));
    assertThat(sum[1]).isCloseTo(0.8f, within(1e-6f));
    assertThat(step.optimizer().params()[0]).isCloseTo(-0.1f, within(1e-6f));
    assertThat(step.optimizer().params()[1]).isCloseTo(-0.1f, within(1e-6f));
  }

  @Test
  void leavesSmallGradientsUnclipped() {
    float[] p = {0f};
    GradientStep step = new GradientStep(new AdamW(p, 0.0), constant, 1.0);
    float[] sum = {1f};
    step.apply(sum, 4, 0);
    assertThat(sum[0]).isEqualTo(0.25f);
  }

  @Test
  void skipsStepWithNanOrInfAndLeavesAdapterUntouched() {
    float[] p = {1f, 2f};
    AdamW adam = new AdamW(p, 0.0);
    GradientStep step = new GradientStep(adam, constant, 1.0);
    GradientStep.Outcome nan = step.apply(new float[] {Float.NaN, 1f}, 3, 0);
    GradientStep.Outcome inf = step.apply(new float[] {Float.POSITIVE_INFINITY, 1f}, 3, 1);
    assertThat(nan.applied()).isFalse();
    assertThat(nan.skipReason()).contains("NaN");
    assertThat(inf.applied()).isFalse();
    assertThat(adam.params()).containsExactly(1f, 2f);
    assertThat(adam.expAvg()).containsExactly(0f, 0f);
    assertThat(adam.stepsTaken()).isZero();
  }

  @Test
  void usesTheScheduleRateOfTheStep() {
    float[] p = {0f};
    LrSchedule warm = new LrSchedule(LrSchedule.Kind.CONSTANT, 1.0, 2, 10);
    GradientStep step = new GradientStep(new AdamW(p, 0.0), warm, 0.0);
    assertThat(step.apply(new float[] {1f}, 1, 0).lr()).isEqualTo(0.0);
    assertThat(step.optimizer().params()[0]).isEqualTo(0f);
    assertThat(step.apply(new float[] {1f}, 1, 1).lr()).isEqualTo(0.5);
  }
}
