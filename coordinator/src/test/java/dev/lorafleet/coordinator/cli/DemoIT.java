package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lorafleet demo} end to end (two real worker processes, the real trainer): exit 0, train
 * loss falls epoch over epoch, every example once per epoch, cost = GPU-hours × price, and the
 * final adapter loads as a PEFT adapter.
 */
class DemoIT {
  @TempDir Path dir;

  @Test
  void demoTrainsThreeEpochsWithFallingLossAndLeavesAPeftAdapter() throws Exception {
    Path demo = dir.resolve("lorafleet-demo");
    long started = System.nanoTime();
    int exit = Main.execute("demo", "--dir", demo.toString());
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("demo took %.1f s%n", seconds);
    assertThat(exit).isZero();

    Path jobs = demo.resolve("runs/jobs");
    Path job;
    try (Stream<Path> list = Files.list(jobs)) {
      job = list.findFirst().orElseThrow();
    }
    JsonNode report = new ObjectMapper().readTree(job.resolve("report.json").toFile());
    assertThat(report.get("state").asText()).isEqualTo("SUCCEEDED");
    JsonNode epochs = report.get("epochs");
    assertThat(epochs).hasSize(3);
    double price = 2.5; // the demo spec's pricePerGpuHour
    double total = 0;
    for (int e = 0; e < 3; e++) {
      JsonNode epoch = epochs.get(e);
      assertThat(epoch.get("samples").asLong()).isEqualTo(240); // 192 + 48 examples
      assertThat(epoch.get("cost").asDouble())
          .isCloseTo(epoch.get("gpuHours").asDouble() * price, within(1e-12));
      assertThat(epoch.get("evalLoss").get("reverse").isNumber()).isTrue();
      assertThat(epoch.get("evalLoss").get("repeat").isNumber()).isTrue();
      if (e > 0) {
        assertThat(epoch.get("trainLoss").asDouble())
            .isLessThan(epochs.get(e - 1).get("trainLoss").asDouble());
      }
      total += epoch.get("cost").asDouble();
    }
    assertThat(report.get("totalCost").asDouble()).isGreaterThanOrEqualTo(total - 1e-12);

    ModelConfig model = ModelConfig.load(demo.resolve("model"));
    PeftAdapter.Loaded adapter = PeftAdapter.read(job.resolve("final"), model);
    assertThat(adapter.config().r()).isEqualTo(8);
    assertThat(adapter.parameters()).isNotEqualTo(new float[adapter.parameters().length]);
    assertThat(job.resolve("final/adapter_config.json")).exists();
    assertThat(job.resolve("events.jsonl")).exists();
    assertThat(job.resolve("spec.yaml")).exists();
  }
}
