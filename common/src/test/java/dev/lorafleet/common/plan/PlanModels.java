package dev.lorafleet.common.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.model.ModelConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The published {@code config.json}s under {@code src/test/resources/plan/models}. */
final class PlanModels {
  private PlanModels() {}

  static ModelConfig load(String name) {
    String resource = "/plan/models/" + name + ".json";
    try (InputStream in = PlanModels.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no test config " + resource);
      }
      return ModelConfig.parse(new ObjectMapper().readTree(in), resource);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
