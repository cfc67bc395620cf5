package dev.lorafleet.coordinator.job.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

  @Test
  void cosineWarmsUpLinearlyThenFollowsHalfCosineToZero() {
    LrSchedule s = new LrSchedule(LrSchedule.Kind.COSINE, 2.0, 10, 110);
    assertThat(s.lr(0)).isEqualTo(0.0); // transformers: the first step runs at 0 with warmup
    assertThat(s.lr(5)).isCloseTo(1.0, within(1e-12));
    assertThat(s.lr(10)).isCloseTo(2.0, within(1e-12));
    assertThat(s.lr(60)).isCloseTo(1.0, within(1e-12)); // half way: cos(pi/2) = 0
    assertThat(s.lr(35)).isCloseTo(2.0 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), within(1e-12));
    assertThat(s.lr(110)).isCloseTo(0.0, within(1e-12));
  }

  @Test
  void linearDecaysFromPeakToZeroAfterWarmup() {
    LrSchedule s = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 4, 104);
    assertThat(s.lr(2)).isCloseTo(0.5, within(1e-12));
    assertThat(s.lr(4)).isCloseTo(1.0, within(1e-12));
    assertThat(s.lr(54)).isCloseTo(0.5, within(1e-12));
    assertThat(s.lr(104)).isEqualTo(0.0);
    assertThat(s.lr(150)).isEqualTo(0.0);
  }

  @Test
  void constantHoldsAfterWarmupAndStartsAtPeakWithoutWarmup() {
    assertThat(new LrSchedule(LrSchedule.Kind.CONSTANT, 3.0, 0, 10).lr(0)).isEqualTo(3.0);
    LrSchedule warm = new LrSchedule(LrSchedule.Kind.CONSTANT, 3.0, 3, 10);
    assertThat(warm.lr(1)).isCloseTo(1.0, within(1e-12));
    assertThat(warm.lr(9)).isEqualTo(3.0);
  }

  @Test
  void parsesSpecNamesAndRefusesUnknownOnes() {
    assertThat(LrSchedule.kindOf("Cosine")).isEqualTo(LrSchedule.Kind.COSINE);
    assertThat(LrSchedule.kindOf("linear")).isEqualTo(LrSchedule.Kind.LINEAR);
    assertThat(LrSchedule.kindOf("constant_with_warmup")).isEqualTo(LrSchedule.Kind.CONSTANT);
    assertThatThrownBy(() -> LrSchedule.kindOf("polynomial")).hasMessageContaining("polynomial");
  }
}
