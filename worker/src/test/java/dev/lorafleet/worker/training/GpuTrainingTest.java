package dev.lorafleet.worker.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.model.Precision;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a GPU, frozen weights in bf16 and adapters in fp32 give the fp32 loss and gradient to bf16
 * accuracy, with one replica per GPU of the node. Skipped where there is no GPU (CI).
 */
class GpuTrainingTest {
  @TempDir Path dir;

  @Test
  void bf16WeightsWithFp32AdaptersMatchFp32() {
    assumeTrue(Engine.getInstance().getGpuCount() > 0, "no GPU on this machine");
    new TinyModelWriter().optHiddenSize(64).optIntermediateSize(128).optVocabSize(128).write(dir);
    LoraConfig lora = LoraConfig.of(8, 16, 0.0, "all-linear");
    List<TokenizedExample> batch = ShardTrainerTest.examples(8, 128, 3);
    StepResult reference;
    float[] adapter;
    try (ShardTrainer trainer =
        ShardTrainer.open(dir, lora, TrainerOptions.defaults().withPrecision(Precision.FLOAT32))) {
      adapter = trainer.initialAdapter(1);
      for (AdapterLayout.Entry e : trainer.layout().entries()) {
        if (e.kind() == AdapterLayout.Kind.B) {
          for (int i = 0; i < e.size(); i++) {
            adapter[e.offset() + i] = 0.02f * ((i % 9) - 4);
          }
        }
      }
    }
    // fp32 on the GPU is the reference: it matches the CPU (HfEquivalenceTest) to float rounding
    try (ShardTrainer fp32 =
            ShardTrainer.open(
                dir, lora, TrainerOptions.defaults().withPrecision(Precision.FLOAT32));
        ShardTrainer bf16 =
            ShardTrainer.open(dir, lora, TrainerOptions.defaults().withPrecision(Precision.BF16))) {
      assertThat(bf16.deviceKind()).isEqualTo("gpu");
      reference = fp32.computeGradients(adapter, batch, 5);
      StepResult gpu = bf16.computeGradients(adapter, batch, 5);
      assertThat(gpu.tokenCount()).isEqualTo(reference.tokenCount());
      assertThat(gpu.lossSum() / gpu.tokenCount())
          .isCloseTo(
              reference.lossSum() / reference.tokenCount(),
              org.assertj.core.data.Offset.offset(0.05));
      double dot = 0;
      double a2 = 0;
      double b2 = 0;
      for (int i = 0; i < adapter.length; i++) {
        dot += (double) gpu.gradientSum()[i] * reference.gradientSum()[i];
        a2 += (double) gpu.gradientSum()[i] * gpu.gradientSum()[i];
        b2 += (double) reference.gradientSum()[i] * reference.gradientSum()[i];
      }
      assertThat(dot / Math.sqrt(a2 * b2)).as("cosine(bf16 grad, fp32 grad)").isGreaterThan(0.98);
    }
  }
}
