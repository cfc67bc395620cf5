package dev.lorafleet.common.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpecPreflightTest {
  @TempDir Path tmp;
  private Path model;
  private Path train;
  private Path heldOut;

  @BeforeEach
  void layOutAModelAndData() throws Exception {
    model = Files.createDirectories(tmp.resolve("models/tiny"));
    Files.writeString(model.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"]}");
    train = Files.writeString(tmp.resolve("train.jsonl"), "{\"instruction\":\"a\"}\n");
    heldOut = Files.writeString(tmp.resolve("eval.jsonl"), "{\"instruction\":\"b\"}\n");
  }

  private JobSpec spec(String modelPath, String trainPath, String evalPath) throws Exception {
    return new JobSpecParser()
        .parse(
            "name: t\nmodel: "
                + modelPath
                + "\ndatasets: [{path: "
                + trainPath
                + "}]\neval: [{name: e, path: "
                + evalPath
                + "}]\n");
  }

  private List<String> problems(PathPolicy policy, JobSpec spec) {
    return new SpecPreflight(policy, tmp).check(spec).stream().map(SpecProblem::toString).toList();
  }

  @Test
  void passesAModelDirectoryWithASupportedArchitectureAndExistingData() throws Exception {
    JobSpec spec = spec(model.toString(), train.toString(), heldOut.toString());

    assertThat(problems(PathPolicy.permissive(), spec)).isEmpty();
  }

  @Test
  void resolvesRelativePathsAgainstItsBaseDirectory() throws Exception {
    assertThat(problems(PathPolicy.permissive(), spec("models/tiny", "train.jsonl", "eval.jsonl")))
        .isEmpty();
  }

  @Test
  void reportsMissingDataFilesAndModelDirectoryByField() throws Exception {
    JobSpec spec = spec("/nowhere/model", tmp + "/missing.jsonl", tmp.toString());

    assertThat(problems(PathPolicy.permissive(), spec))
        .containsExactly(
            "model: /nowhere/model does not exist",
            "datasets[0].path: " + tmp + "/missing.jsonl does not exist",
            "eval[0].path: " + tmp + " is not a regular file");
    assertThatThrownBy(() -> new SpecPreflight(PathPolicy.permissive()).verify(spec))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("3 problems");
  }

  @Test
  void reportsAnEmptyDataset() throws Exception {
    Files.writeString(train, "");

    assertThat(
            problems(
                PathPolicy.permissive(),
                spec(model.toString(), train.toString(), heldOut.toString())))
        .containsExactly("datasets[0].path: " + train + " is empty");
  }

  @Test
  void reportsAModelDirectoryWithoutConfig() throws Exception {
    Files.delete(model.resolve("config.json"));

    assertThat(
            problems(
                PathPolicy.permissive(),
                spec(model.toString(), train.toString(), heldOut.toString())))
        .containsExactly(
            "model: " + model + " has no config.json; is it a Hugging Face model directory?");
  }

  @Test
  void reportsAnUnsupportedOrMissingArchitecture() throws Exception {
    JobSpec spec = spec(model.toString(), train.toString(), heldOut.toString());
    Files.writeString(model.resolve("config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"]}");
    assertThat(problems(PathPolicy.permissive(), spec))
        .containsExactly(
            "model: "
                + model.resolve("config.json")
                + " names architecture [\"GPT2LMHeadModel\"], which lorafleet does not support;"
                + " supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,"
                + " Qwen3ForCausalLM");

    Files.writeString(model.resolve("config.json"), "{\"model_type\": \"llama\"}");
    assertThat(problems(PathPolicy.permissive(), spec).get(0)).contains("has no 'architectures'");

    Files.writeString(model.resolve("config.json"), "{not json");
    assertThat(problems(PathPolicy.permissive(), spec).get(0)).contains("is not valid JSON");

    for (String supported : SpecPreflight.SUPPORTED_ARCHITECTURES) {
      Files.writeString(
          model.resolve("config.json"), "{\"architectures\": [\"" + supported + "\"]}");
      assertThat(problems(PathPolicy.permissive(), spec)).isEmpty();
    }
  }

  @Test
  void refusesDataReachedThroughASymbolicLinkOutOfTheAllowedRoots() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("allowed"));
    Path link = Files.createSymbolicLink(root.resolve("train.jsonl"), train);
    Path modelLink = Files.createSymbolicLink(root.resolve("model"), model);
    Path okEval = Files.copy(heldOut, root.resolve("eval.jsonl"));
    PathPolicy policy = PathPolicy.withinRoots(List.of(root));
    JobSpec spec = spec(modelLink.toString(), link.toString(), okEval.toString());

    assertThat(problems(policy, spec))
        .containsExactly(
            "model: leads through a symbolic link to "
                + model.toRealPath()
                + ", outside the allowed directories ("
                + root
                + ")",
            "datasets[0].path: leads through a symbolic link to "
                + train.toRealPath()
                + ", outside the allowed directories ("
                + root
                + ")");
  }
}
