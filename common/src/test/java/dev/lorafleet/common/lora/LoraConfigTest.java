package dev.lorafleet.common.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.model.Projection;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoraConfigTest {
  @Test
  void scalesByAlphaOverROrOverSqrtRWithRslora() {
    assertThat(LoraConfig.of(16, 32, 0, "q_proj").scaling()).isEqualTo(2.0);
    assertThat(new LoraConfig(16, 32, 0, List.of("q_proj"), true).scaling()).isEqualTo(8.0);
  }

  @Test
  void expandsAllLinearToTheSevenProjectionsInLayoutOrder() {
    LoraConfig c = LoraConfig.of(4, 8, 0, "all-linear");
    assertThat(c.expandedTargetModules())
        .containsExactly(
            "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    assertThat(LoraConfig.of(4, 8, 0, "v_proj", "q_proj").projections())
        .containsExactly(Projection.Q_PROJ, Projection.V_PROJ);
  }

  @Test
  void rejectsEveryBadFieldAtOnce() {
    assertThatThrownBy(() -> LoraConfig.of(0, -1, 1.0, "lm_head"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("r must be a positive integer, is 0")
        .hasMessageContaining("alpha must be positive, is -1.0")
        .hasMessageContaining("dropout must be in [0, 1), is 1.0")
        .hasMessageContaining("targetModules[0] 'lm_head' is not a projection");
    assertThat(LoraConfig.problems(8, 16, 0.1, List.of())).hasSize(1);
  }
}
