package dev.lorafleet.worker.training;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.model.Precision;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardTrainerTest {
  @TempDir Path dir;

  static List<TokenizedExample> examples(int count, int vocab, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<TokenizedExample> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int len = 4 + r.nextInt(9);
      int prompt = 1 + r.nextInt(len - 2);
      int[] ids = new int[len];
      int[] labels = new int[len];
      for (int t = 0; t < len; t++) {
        ids[t] = r.nextInt(vocab);
        labels[t] = t < prompt ? TokenizedExample.IGNORE_INDEX : ids[t];
      }
      out.add(new TokenizedExample(100 + i, ids, labels));
    }
    return out;
  }

  private Path tinyModel() {
    new TinyModelWriter()
        .optArchitecture(Architecture.QWEN3)
        .optVocabSize(48)
        .optHiddenSize(16)
        .optIntermediateSize(24)
        .optHeads(4, 2)
        .optHeadDim(8)
        .optLayers(2)
        .write(dir);
    return dir;
  }

  @Test
  void gradientsOfAAndBMatchCentralFiniteDifferencesInFloat64() {
    LoraConfig lora = LoraConfig.of(2, 4, 0.0, "q_proj", "v_proj", "down_proj");
    TrainerOptions options =
        TrainerOptions.defaults().withMicroBatchSize(2).withPrecision(Precision.FLOAT64);
    try (ShardTrainer trainer = ShardTrainer.open(tinyModel(), lora, options)) {
      AdapterLayout layout = trainer.layout();
      float[] adapter = trainer.initialAdapter(3);
      // B = 0 would make every A gradient zero: give B values so both are checked
      SplittableRandom r = new SplittableRandom(9);
      for (AdapterLayout.Entry e : layout.entries()) {
        if (e.kind() == AdapterLayout.Kind.B) {
          for (int i = 0; i < e.size(); i++) {
            adapter[e.offset() + i] = (float) (r.nextGaussian() * 0.3);
          }
        }
      }
      List<TokenizedExample> batch = examples(3, 48, 5);
      StepResult step = trainer.computeGradients(adapter, batch, 11);
      assertThat(step.tokenCount())
          .isEqualTo(batch.stream().mapToInt(TokenizedExample::lossTokens).sum());
      double eps = 1e-3;
      int checked = 0;
      for (AdapterLayout.Entry e : layout.entries()) {
        for (int k : new int[] {0, e.size() / 2, e.size() - 1}) {
          int i = e.offset() + k;
          float saved = adapter[i];
          adapter[i] = (float) (saved + eps);
          double plus = trainer.evaluate(adapter, batch).totalLoss();
          adapter[i] = (float) (saved - eps);
          double minus = trainer.evaluate(adapter, batch).totalLoss();
          adapter[i] = saved;
          // the perturbed values are rounded to float: use the exact step taken
          double h = ((double) (float) (saved + eps) - (double) (float) (saved - eps));
          double numeric = (plus - minus) / h;
          assertThat((double) step.gradientSum()[i])
              .as("d loss / d %s[%d]", e.peftKey(), k)
              .isCloseTo(
                  numeric, org.assertj.core.data.Offset.offset(1e-4 + 1e-4 * Math.abs(numeric)));
          checked++;
        }
      }
      assertThat(checked).isEqualTo(layout.entries().size() * 3);
      assertThat(step.gradientSum()).isNotEqualTo(new float[layout.size()]);
    }
  }

  @Test
  void gradientOfEightExamplesIsTheSumOfItsTwoHalvesWithDropout() {
    LoraConfig lora = LoraConfig.of(4, 8, 0.2, "all-linear");
    try (ShardTrainer trainer =
        ShardTrainer.open(tinyModel(), lora, TrainerOptions.defaults().withMicroBatchSize(3))) {
      float[] adapter = trainer.initialAdapter(1);
      for (AdapterLayout.Entry e : trainer.layout().entries()) {
        if (e.kind() == AdapterLayout.Kind.B) {
          for (int i = 0; i < e.size(); i++) {
            adapter[e.offset() + i] = 0.05f * ((i % 7) - 3);
          }
        }
      }
      List<TokenizedExample> all = examples(8, 48, 21);
      StepResult whole = trainer.computeGradients(adapter, all, 77);
      StepResult first = trainer.computeGradients(adapter, all.subList(0, 4), 77);
      StepResult second = trainer.computeGradients(adapter, all.subList(4, 8), 77);
      assertThat(whole.tokenCount()).isEqualTo(first.tokenCount() + second.tokenCount());
      assertThat(whole.lossSum())
          .isCloseTo(first.lossSum() + second.lossSum(), org.assertj.core.data.Offset.offset(1e-3));
      double maxAbs = 0;
      for (int i = 0; i < adapter.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(whole.gradientSum()[i]));
        assertThat(whole.gradientSum()[i])
            .isCloseTo(
                first.gradientSum()[i] + second.gradientSum()[i],
                org.assertj.core.data.Offset.offset(
                    1e-4f + 1e-4f * Math.abs(whole.gradientSum()[i])));
      }
      assertThat(maxAbs).isGreaterThan(1e-3);
      // another step seed draws other dropout masks, so the gradient differs
      StepResult other = trainer.computeGradients(adapter, all, 78);
      assertThat(other.gradientSum()).isNotEqualTo(whole.gradientSum());
    }
  }

  @Test
  void twoReplicasSplitTheExamplesAndAddUpToOne() {
    LoraConfig lora = LoraConfig.of(4, 8, 0.1, "q_proj", "o_proj", "up_proj");
    Path model = tinyModel();
    TrainerOptions options = TrainerOptions.defaults().withMicroBatchSize(2);
    List<TokenizedExample> all = examples(7, 48, 8);
    StepResult one;
    float[] adapter;
    EvalResult oneEval;
    try (ShardTrainer trainer = ShardTrainer.open(model, lora, options)) {
      adapter = trainer.initialAdapter(2);
      for (int i = 0; i < adapter.length; i++) {
        adapter[i] += 0.01f * (i % 11 - 5);
      }
      one = trainer.computeGradients(adapter, all, 3);
      oneEval = trainer.evaluate(adapter, all);
    }
    try (ShardTrainer two =
        ShardTrainer.openOn(
            model, lora, options, List.of(ai.djl.Device.cpu(), ai.djl.Device.cpu()))) {
      assertThat(two.deviceCount()).isEqualTo(2);
      StepResult split = two.computeGradients(adapter, all, 3);
      assertThat(split.tokenCount()).isEqualTo(one.tokenCount());
      assertThat(split.examples()).isEqualTo(7);
      for (int i = 0; i < adapter.length; i++) {
        assertThat(split.gradientSum()[i])
            .isCloseTo(
                one.gradientSum()[i],
                org.assertj.core.data.Offset.offset(
                    1e-4f + 1e-4f * Math.abs(one.gradientSum()[i])));
      }
      EvalResult splitEval = two.evaluate(adapter, all);
      assertThat(splitEval.indices()).containsExactly(oneEval.indices());
      for (int i = 0; i < all.size(); i++) {
        assertThat(splitEval.tokenCounts()[i]).isEqualTo(oneEval.tokenCounts()[i]);
        assertThat(splitEval.lossSums()[i])
            .isCloseTo(oneEval.lossSums()[i], org.assertj.core.data.Offset.offset(1e-4));
      }
    }
  }

  @Test
  void learnsASmallTaskWithLoraAlone() {
    LoraConfig lora =
        LoraConfig.of(8, 16, 0.0, "q_proj", "v_proj", "o_proj", "up_proj", "down_proj");
    // task: after the prompt token 0, repeat the prompt shifted by one token id
    List<TokenizedExample> data = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(4);
    for (int i = 0; i < 16; i++) {
      int n = 4;
      int[] ids = new int[2 * n + 1];
      int[] labels = new int[2 * n + 1];
      for (int t = 0; t < n; t++) {
        ids[t] = 3 + r.nextInt(40);
      }
      ids[n] = 0;
      for (int t = 0; t < n; t++) {
        ids[n + 1 + t] = ids[t] + 1;
      }
      for (int t = 0; t < ids.length; t++) {
        labels[t] = t > n ? ids[t] : TokenizedExample.IGNORE_INDEX;
      }
      data.add(new TokenizedExample(i, ids, labels));
    }
    try (ShardTrainer trainer =
        ShardTrainer.open(tinyModel(), lora, TrainerOptions.defaults().withMicroBatchSize(8))) {
      float[] p = trainer.initialAdapter(42);
      double before = trainer.evaluate(p, data).meanLoss();
      float[] m = new float[p.length];
      float[] v = new float[p.length];
      double lr = 1e-2;
      for (int step = 1; step <= 120; step++) {
        StepResult s = trainer.computeGradients(p, data, step);
        for (int i = 0; i < p.length; i++) {
          float g = s.gradientSum()[i] / s.tokenCount();
          m[i] = 0.9f * m[i] + 0.1f * g;
          v[i] = 0.999f * v[i] + 0.001f * g * g;
          double mHat = m[i] / (1 - Math.pow(0.9, step));
          double vHat = v[i] / (1 - Math.pow(0.999, step));
          p[i] -= (float) (lr * (mHat / (Math.sqrt(vHat) + 1e-8) + 0.0 * p[i]));
        }
      }
      double after = trainer.evaluate(p, data).meanLoss();
      assertThat(after).as("loss before %s, after %s", before, after).isLessThan(before * 0.4);
    }
  }
}
