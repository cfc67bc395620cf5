package dev.lorafleet.coordinator.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.DType;
import dev.lorafleet.common.wire.SafetensorsFile;
import dev.lorafleet.common.wire.SafetensorsWriter;
import dev.lorafleet.coordinator.job.CheckpointFormatFactory;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint in PEFT's layout ({@code adapter_model.safetensors} + {@code adapter_config.json},
 * loadable by PEFT, vLLM and LLaMA-Factory) plus {@code optimizer.safetensors} holding AdamW's
 * {@code exp_avg} and {@code exp_avg_sq} as flat fp32 vectors in the adapter layout.
 */
public final class PeftCheckpointFormat implements CheckpointFormat {
  public static final String OPTIMIZER_FILE = "optimizer.safetensors";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AdapterLayout layout;
  private final String baseModel;

  public PeftCheckpointFormat(AdapterLayout layout, String baseModel) {
    this.layout = layout;
    this.baseModel = baseModel;
  }

  /** Builds the format from the {@code config.json} a worker sent. */
  public static CheckpointFormatFactory factory() {
    return (settings, modelConfigJson, adapterLength) -> {
      ModelConfig model;
      try {
        model =
            ModelConfig.parse(JSON.readTree(modelConfigJson), settings.model() + "/config.json");
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "the worker sent an unreadable config.json for " + settings.model(), e);
      }
      AdapterLayout layout = AdapterLayout.of(model, settings.lora());
      if (layout.size() != adapterLength) {
        throw new IllegalArgumentException(
            "the workers' adapter has "
                + adapterLength
                + " values but the layout of "
                + settings.model()
                + " has "
                + layout.size());
      }
      return new PeftCheckpointFormat(layout, settings.model().toString());
    };
  }

  @Override
  public void write(Path dir, float[] params, float[] expAvg, float[] expAvgSq) throws IOException {
    try {
      PeftAdapter.write(dir, layout, params, baseModel);
      long[] shape = {params.length};
      new SafetensorsWriter()
          .metadata("format", "lorafleet-adamw")
          .add("exp_avg", DType.F32, shape, expAvg)
          .add("exp_avg_sq", DType.F32, shape, expAvgSq)
          .write(dir.resolve(OPTIMIZER_FILE));
    } catch (RuntimeException e) {
      throw new IOException("cannot write the checkpoint in " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public float[][] read(Path dir) throws IOException {
    try (SafetensorsFile optimizer = SafetensorsFile.open(dir.resolve(OPTIMIZER_FILE))) {
      return new float[][] {
        PeftAdapter.readWeights(dir, layout, null),
        optimizer.readFloats("exp_avg"),
        optimizer.readFloats("exp_avg_sq")
      };
    } catch (RuntimeException e) {
      throw new IOException("cannot read the checkpoint in " + dir + ": " + e.getMessage(), e);
    }
  }

  public AdapterLayout layout() {
    return layout;
  }
}
