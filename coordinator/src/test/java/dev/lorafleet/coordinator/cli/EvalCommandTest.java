package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.lora.AdapterLayout;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.worker.data.TinyTokenizerWriter;
import dev.lorafleet.worker.model.TinyModelWriter;
import dev.lorafleet.worker.training.ShardTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lorafleet eval} on a tiny model with and without adapters. */
class EvalCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  Path model;
  Path data;
  ModelConfig config;

  @BeforeEach
  void writeModelAndData() throws IOException {
    model = dir.resolve("model");
    config = new TinyModelWriter().optHiddenSize(32).optIntermediateSize(48).write(model);
    new TinyTokenizerWriter(config.vocabSize(), true).write(model);
    data = dir.resolve("eval.jsonl");
    Files.writeString(
        data,
        """
        {"instruction": "Repeat the words.", "input": "red green", "output": "red green"}
        {"instruction": "Reverse the order of the words.", "input": "one two three", "output": "three two one"}
        {"messages": [{"role": "user", "content": "say blue"}, {"role": "assistant", "content": "blue"}]}
        """);
  }

  private List<JsonNode> lines(String out) throws IOException {
    List<JsonNode> list = new ArrayList<>();
    for (String line : out.strip().split("\n")) {
      list.add(JSON.readTree(line));
    }
    return list;
  }

  private Path adapter(String name, float bValue) {
    LoraConfig lora = LoraConfig.of(4, 8, 0.0, "q_proj", "v_proj");
    AdapterLayout layout = AdapterLayout.of(config, lora);
    float[] p = ShardTrainer.initialAdapter(layout, 5);
    for (AdapterLayout.Entry e : layout.entries()) {
      if (e.kind() == AdapterLayout.Kind.B) {
        for (int i = 0; i < e.size(); i++) {
          p[e.offset() + i] = bValue * ((i % 5) - 2);
        }
      }
    }
    Path out = dir.resolve(name);
    PeftAdapter.write(out, layout, p, model.toString());
    return out;
  }

  @Test
  void printsLossAndPerplexityOfTheBaseModel() {
    PlanCommandTest.Run run =
        PlanCommandTest.run("eval", "--model", model.toString(), "--data", data.toString());
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("3 examples").contains("loss ").contains("perplexity ");
  }

  @Test
  void printsOneJsonLinePerExampleAndAZeroBAdapterChangesNothing() throws IOException {
    PlanCommandTest.Run base =
        PlanCommandTest.run(
            "eval", "--model", model.toString(), "--data", data.toString(), "--json");
    assertThat(base.code()).as(base.err()).isZero();
    List<JsonNode> baseLines = lines(base.out());
    assertThat(baseLines).hasSize(3);
    for (JsonNode line : baseLines) {
      assertThat(line.get("input_ids").size()).isEqualTo(line.get("labels").size());
      assertThat(line.get("labels").get(0).asInt()).isEqualTo(-100);
      assertThat(line.get("loss").asDouble()).isPositive();
    }
    assertThat(baseLines.get(0).get("index").asInt()).isZero();

    PlanCommandTest.Run zero =
        PlanCommandTest.run(
            "eval",
            "--model",
            model.toString(),
            "--adapter",
            adapter("zero-b", 0f).toString(),
            "--data",
            data.toString(),
            "--json");
    assertThat(zero.code()).as(zero.err()).isZero();
    assertThat(lines(zero.out())).isEqualTo(baseLines);

    PlanCommandTest.Run trained =
        PlanCommandTest.run(
            "eval",
            "--model",
            model.toString(),
            "--adapter",
            adapter("nonzero-b", 0.3f).toString(),
            "--data",
            data.toString(),
            "--json");
    assertThat(trained.code()).as(trained.err()).isZero();
    assertThat(lines(trained.out()).get(0).get("loss").asDouble())
        .isNotEqualTo(baseLines.get(0).get("loss").asDouble());
  }

  @Test
  void refusesAnAdapterForAnotherModelInOneLine() {
    ModelConfig other = new TinyModelWriter().optHiddenSize(16).optIntermediateSize(24).config();
    LoraConfig lora = LoraConfig.of(4, 8, 0.0, "q_proj");
    AdapterLayout layout = AdapterLayout.of(other, lora);
    Path wrong = dir.resolve("wrong");
    PeftAdapter.write(wrong, layout, new float[layout.size()], "other");
    PlanCommandTest.Run run =
        PlanCommandTest.run(
            "eval",
            "--model",
            model.toString(),
            "--adapter",
            wrong.toString(),
            "--data",
            data.toString());
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err().strip().lines().count()).isEqualTo(1);
    assertThat(run.err()).contains("lora_A.weight' has shape [4, 16] but the model needs [4, 32]");
  }
}
