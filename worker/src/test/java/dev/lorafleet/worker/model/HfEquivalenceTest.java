package dev.lorafleet.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.wire.SafetensorsCheckpoint;
import dev.lorafleet.common.wire.SafetensorsFile;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Logits equal those of Hugging Face's implementation on the same weights and tokens. The fixtures
 * come from {@code tools/reference/generate_fixtures.py}, a float64 numpy transcription of
 * transformers' forward pass; the two sequences have different lengths, so the shorter one is
 * padded here and the padding must be masked.
 */
class HfEquivalenceTest {

  private static Path fixture(String name) throws URISyntaxException {
    return Path.of(HfEquivalenceTest.class.getResource("/hf-reference/" + name).toURI());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "llama3-rope-scaling-tied-bias",
        "qwen2-qkv-bias-sharded",
        "qwen3-qk-norm-head-dim",
        "mistral-bf16"
      })
  void logitsMatchTheHuggingFaceReference(String name) throws Exception {
    Path dir = fixture(name);
    ModelConfig config = ModelConfig.load(dir);
    long[][] ids;
    float[][] expected;
    try (SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
      ids = new long[][] {ref.readLongs("ids.0"), ref.readLongs("ids.1")};
      expected = new float[][] {ref.readFloats("logits.0"), ref.readFloats("logits.1")};
    }
    int seq = Math.max(ids[0].length, ids[1].length);
    long[] padded = new long[2 * seq];
    System.arraycopy(ids[0], 0, padded, 0, ids[0].length);
    System.arraycopy(ids[1], 0, padded, seq, ids[1].length);
    int[] lengths = {ids[0].length, ids[1].length};
    int vocab = config.vocabSize();
    try (SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(dir);
        DecoderModel model =
            DecoderModel.load(config, weights, Device.cpu(), Precision.FLOAT32, 1f, false);
        NDManager scope = model.manager().newSubManager()) {
      NDArray hidden = model.hidden(scope.create(padded, new Shape(2, seq)), lengths, null, null);
      float[] actual = model.logits(hidden).toType(DataType.FLOAT32, false).toFloatArray();
      double maxError = 0;
      double maxLogit = 0;
      for (int r = 0; r < 2; r++) {
        for (int t = 0; t < lengths[r]; t++) {
          for (int v = 0; v < vocab; v++) {
            double want = expected[r][t * vocab + v];
            double got = actual[(r * seq + t) * vocab + v];
            maxError = Math.max(maxError, Math.abs(want - got));
            maxLogit = Math.max(maxLogit, Math.abs(want));
          }
        }
      }
      // fp32 against a float64 reference; logits here are of order 1–10
      assertThat(maxError).as("max |logit error| in %s", name).isLessThan(1e-4);
      assertThat(maxLogit)
          .as("logits far from zero, so the check means something")
          .isGreaterThan(1);
    }
  }
}
