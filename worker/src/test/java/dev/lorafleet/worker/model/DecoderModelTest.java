package dev.lorafleet.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.model.RopeScaling;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsFile;
import dev.lorafleet.common.wire.SafetensorsWriter;
import dev.lorafleet.common.wire.TensorInfo;
import dev.lorafleet.worker.training.ShardTrainer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecoderModelTest {
  @TempDir Path dir;

  static float[] logits(DecoderModel model, long[][] ids, float[] adapter, AdapterLayout layout) {
    int batch = ids.length;
    int seq = ids[0].length;
    long[] flat = new long[batch * seq];
    int[] lengths = new int[batch];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(ids[b], 0, flat, b * seq, seq);
      lengths[b] = seq;
    }
    try (NDManager scope = model.manager().newSubManager()) {
      AdapterViews views = null;
      if (adapter != null) {
        NDArray a = scope.create(adapter);
        if (model.precision().adapter() != a.getDataType()) {
          a = a.toType(model.precision().adapter(), false);
        }
        views = new AdapterViews(a, layout);
      }
      NDArray hidden =
          model.hidden(scope.create(flat, new Shape(batch, seq)), lengths, views, null);
      return model
          .logits(hidden)
          .toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
          .toFloatArray();
    }
  }

  private static DecoderModel load(Path dir, float scaling) {
    ModelConfig config = ModelConfig.load(dir);
    try (SafetensorsCheckpoint w = SafetensorsCheckpoint.open(dir)) {
      return DecoderModel.load(config, w, Device.cpu(), Precision.FLOAT32, scaling, false);
    }
  }

  @Test
  void adapterWithZeroBLeavesLogitsExactlyUnchanged() {
    ModelConfig config =
        new TinyModelWriter()
            .optArchitecture(Architecture.QWEN2)
            .optVocabSize(96)
            .optHiddenSize(32)
            .optIntermediateSize(48)
            .optHeads(4, 2)
            .write(dir);
    LoraConfig lora = LoraConfig.of(4, 8, 0.0, "all-linear");
    AdapterLayout layout = AdapterLayout.of(config, lora);
    float[] adapter = ShardTrainer.initialAdapter(layout, 7);
    long[][] ids = {{1, 5, 9, 33, 2, 7}, {4, 4, 80, 1, 0, 95}};
    try (DecoderModel model = load(dir, (float) lora.scaling())) {
      float[] base = logits(model, ids, null, layout);
      float[] adapted = logits(model, ids, adapter, layout);
      assertThat(adapted).containsExactly(base);
      // and a non-zero B does change them, so the comparison above can fail
      AdapterLayout.Entry b = layout.entries().get(1);
      adapter[b.offset()] = 0.5f;
      assertThat(logits(model, ids, adapter, layout)).isNotEqualTo(base);
    }
  }

  @Test
  void loadsEveryArchitectureWithItsQuirks() {
    for (Architecture arch : Architecture.values()) {
      Path d = dir.resolve(arch.name());
      TinyModelWriter writer =
          new TinyModelWriter()
              .optArchitecture(arch)
              .optVocabSize(64)
              .optHiddenSize(16)
              .optIntermediateSize(24)
              .optHeads(4, 1)
              .optHeadDim(8)
              .optAttentionBias(true)
              .optTieWordEmbeddings(arch == Architecture.QWEN3)
              .optRopeScaling(arch == Architecture.LLAMA ? new RopeScaling(8, 1, 4, 64) : null)
              .optDtype(arch == Architecture.MISTRAL ? DType.BF16 : DType.F32)
              .optShards(arch == Architecture.QWEN2 ? 3 : 1);
      writer.write(d);
      try (DecoderModel model = load(d, 1f)) {
        float[] out = logits(model, new long[][] {{3, 1, 4, 1, 5}}, null, null);
        assertThat(out).hasSize(5 * 64);
        for (float v : out) {
          assertThat(v).isFinite();
        }
        assertThat(model.linear(0, dev.lorafleet.common.model.Projection.Q_PROJ).bias() != null)
            .isEqualTo(arch != Architecture.MISTRAL);
        assertThat(model.linear(0, dev.lorafleet.common.model.Projection.O_PROJ).bias() != null)
            .isEqualTo(arch == Architecture.LLAMA || arch == Architecture.QWEN3);
      }
    }
  }

  private void rewriteWithout(String dropName, String reshapeName) {
    Path src = dir.resolve("src");
    try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
      SafetensorsWriter w = new SafetensorsWriter();
      for (TensorInfo t : f.tensors().values()) {
        if (t.name().equals(dropName)) {
          continue;
        }
        long[] shape = t.shape();
        if (t.name().equals(reshapeName)) {
          shape = new long[] {shape[1], shape[0]};
        }
        w.add(t.name(), DType.F32, shape, f.readFloats(t.name()));
      }
      w.write(dir.resolve("model.safetensors"));
    }
    try {
      java.nio.file.Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void namesAMissingTensor() {
    new TinyModelWriter()
        .optHiddenSize(16)
        .optIntermediateSize(24)
        .optVocabSize(32)
        .write(dir.resolve("src"));
    rewriteWithout("model.layers.1.mlp.up_proj.weight", null);
    assertThatThrownBy(() -> load(dir, 1f))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("missing tensor 'model.layers.1.mlp.up_proj.weight'");
  }

  @Test
  void namesATensorWithTheWrongShape() {
    new TinyModelWriter()
        .optHiddenSize(16)
        .optIntermediateSize(24)
        .optVocabSize(32)
        .write(dir.resolve("src"));
    rewriteWithout(null, "model.layers.0.mlp.down_proj.weight");
    assertThatThrownBy(() -> load(dir, 1f))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(
            "tensor 'model.layers.0.mlp.down_proj.weight' has shape [24, 16] but config.json"
                + " implies [16, 24]");
  }
}
