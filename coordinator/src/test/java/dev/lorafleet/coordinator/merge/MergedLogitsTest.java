package dev.lorafleet.coordinator.merge;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.worker.model.AdapterViews;
import dev.lorafleet.worker.model.DecoderModel;
import dev.lorafleet.worker.model.Precision;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The merged model, run without an adapter, gives the logits the base model gives with the adapter:
 * the whole point of merging. Checked through the worker's own decoder on a tiny Qwen2 (q/k/v
 * biases, GQA) stored in two shards, with rsLoRA scaling and every projection targeted.
 */
class MergedLogitsTest {
  @TempDir Path dir;

  private static DecoderModel load(Path modelDir, float scaling) {
    ModelConfig config = ModelConfig.load(modelDir);
    try (SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(modelDir)) {
      return DecoderModel.load(config, weights, Device.cpu(), Precision.FLOAT32, scaling, false);
    }
  }

  private static float[] logits(DecoderModel model, long[] ids, float[] adapter, AdapterLayout l) {
    try (NDManager scope = model.manager().newSubManager()) {
      AdapterViews views = adapter == null ? null : new AdapterViews(scope.create(adapter), l);
      NDArray hidden =
          model.hidden(
              scope.create(ids, new Shape(1, ids.length)), new int[] {ids.length}, views, null);
      return model.logits(hidden).toType(DataType.FLOAT32, false).toFloatArray();
    }
  }

  @Test
  void mergedModelGivesTheLogitsOfBasePlusAdapter() {
    Path base = dir.resolve("base");
    ModelConfig config =
        new TinyModelWriter()
            .optArchitecture(Architecture.QWEN2)
            .optVocabSize(96)
            .optHiddenSize(32)
            .optIntermediateSize(48)
            .optHeads(4, 2)
            .optShards(2)
            .write(base);
    LoraConfig lora = new LoraConfig(4, 8, 0.0, List.of("all-linear"), true);
    AdapterLayout layout = AdapterLayout.of(config, lora);
    float[] adapter = new float[layout.size()];
    SplittableRandom random = new SplittableRandom(11);
    for (int i = 0; i < adapter.length; i++) {
      adapter[i] = (float) (random.nextDouble() - 0.5) * 0.2f; // B non-zero: the adapter matters
    }
    Path adapterDir = dir.resolve("adapter");
    PeftAdapter.write(adapterDir, layout, adapter, base.toString());
    Path merged = dir.resolve("merged");
    AdapterMerger.merge(base, adapterDir, merged, AdapterMerger.Options.DEFAULTS, s -> {});

    long[] ids = {1, 17, 42, 5, 88, 3, 60, 9};
    float[] withAdapter;
    float[] without;
    try (DecoderModel model = load(base, (float) lora.scaling())) {
      withAdapter = logits(model, ids, adapter, layout);
      without = logits(model, ids, null, layout);
    }
    float[] folded;
    try (DecoderModel model = load(merged, 1f)) {
      folded = logits(model, ids, null, null);
    }
    assertThat(folded).hasSameSizeAs(withAdapter);
    double maxDiff = 0;
    double maxChange = 0;
    for (int i = 0; i < folded.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(folded[i] - withAdapter[i]));
      maxChange = Math.max(maxChange, Math.abs(withAdapter[i] - without[i]));
    }
    // fp32 rounding of W + s·B·A against the unfused x·Wᵀ + s·(x·Aᵀ)·Bᵀ
    assertThat(maxDiff).isLessThan(1e-4);
    // and the adapter moves the logits by far more than that, so the check can fail
    assertThat(maxChange).isGreaterThan(1e-2);
  }
}
