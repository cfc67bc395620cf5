package dev.lorafleet.common.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The checks of a parsed spec that need the file system, run by the coordinator before it queues a
 * job (and by {@code submit} before it sends one): the datasets and eval sets exist and are
 * readable files; the model directory has a {@code config.json} naming a supported architecture; no
 * path leads through a symbolic link outside the allowed directories.
 *
 * <p>The architecture check reads only {@code architectures} from {@code config.json}. TODO(model):
 * when {@code dev.lorafleet.common.model.ModelConfig} lands, read the config with it instead, so
 * that one class decides what the model code supports.
 */
public final class SpecPreflight {
  /** The Hugging Face architectures the model code implements (DESIGN.md, Model support). */
  public static final Set<String> SUPPORTED_ARCHITECTURES =
      Set.of("LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MistralForCausalLM");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_CONFIG_BYTES = 1 << 20;

  private final PathPolicy pathPolicy;
  private final Path baseDir;

  /** Relative spec paths are resolved against {@code baseDir}. */
  public SpecPreflight(PathPolicy pathPolicy, Path baseDir) {
    this.pathPolicy = pathPolicy;
    this.baseDir = baseDir.toAbsolutePath();
  }

  /** Relative spec paths are resolved against the working directory. */
  public SpecPreflight(PathPolicy pathPolicy) {
    this(pathPolicy, Path.of(""));
  }

  /** Every problem found; empty when the job can be queued. */
  public List<SpecProblem> check(JobSpec spec) {
    List<SpecProblem> problems = new ArrayList<>();
    checkModel(spec.model(), problems);
    for (int i = 0; i < spec.datasets().size(); i++) {
      checkDataFile("datasets[" + i + "].path", spec.datasets().get(i).path(), problems);
    }
    for (int i = 0; i < spec.eval().size(); i++) {
      checkDataFile("eval[" + i + "].path", spec.eval().get(i).path(), problems);
    }
    return List.copyOf(problems);
  }

  /** Like {@link #check(JobSpec)}, throwing when there is any problem. */
  public void verify(JobSpec spec) throws InvalidSpecException {
    List<SpecProblem> problems = check(spec);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(spec.name(), problems);
    }
  }

  private void checkModel(String model, List<SpecProblem> problems) {
    Path dir = baseDir.resolve(model);
    if (!Files.isDirectory(dir)) {
      problems.add(
          new SpecProblem(
              "model",
              Files.exists(dir)
                  ? dir + " is not a directory; give the Hugging Face model directory"
                  : dir + " does not exist"));
      return;
    }
    if (escapes("model", dir, problems)) {
      return;
    }
    Path config = dir.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      problems.add(
          new SpecProblem(
              "model", dir + " has no config.json; is it a Hugging Face model directory?"));
      return;
    }
    if (escapes("model", config, problems)) {
      return;
    }
    JsonNode root;
    try {
      if (Files.size(config) > MAX_CONFIG_BYTES) {
        problems.add(new SpecProblem("model", config + " is larger than 1 MiB; not a config"));
        return;
      }
      root = JSON.readTree(config.toFile());
    } catch (JsonProcessingException e) {
      problems.add(
          new SpecProblem(
              "model",
              config
                  + " is not valid JSON (line "
                  + (e.getLocation() == null ? "?" : e.getLocation().getLineNr())
                  + ")"));
      return;
    } catch (IOException e) {
      problems.add(new SpecProblem("model", "cannot read " + config + ": " + e.getMessage()));
      return;
    }
    JsonNode architectures = root == null ? null : root.get("architectures");
    if (architectures == null || !architectures.isArray() || architectures.isEmpty()) {
      problems.add(
          new SpecProblem(
              "model",
              config
                  + " has no 'architectures' list; supported: "
                  + String.join(", ", SUPPORTED_ARCHITECTURES.stream().sorted().toList())));
      return;
    }
    for (JsonNode architecture : architectures) {
      if (architecture.isTextual() && SUPPORTED_ARCHITECTURES.contains(architecture.asText())) {
        return;
      }
    }
    problems.add(
        new SpecProblem(
            "model",
            config
                + " names architecture "
                + architectures
                + ", which lorafleet does not support; supported: "
                + String.join(", ", SUPPORTED_ARCHITECTURES.stream().sorted().toList())));
  }

  private void checkDataFile(String field, String path, List<SpecProblem> problems) {
    Path file = baseDir.resolve(path);
    if (!Files.exists(file)) {
      problems.add(new SpecProblem(field, file + " does not exist"));
      return;
    }
    if (escapes(field, file, problems)) {
      return;
    }
    if (!Files.isRegularFile(file)) {
      problems.add(new SpecProblem(field, file + " is not a regular file"));
      return;
    }
    if (!Files.isReadable(file)) {
      problems.add(new SpecProblem(field, file + " is not readable"));
      return;
    }
    try {
      if (Files.size(file) == 0) {
        problems.add(new SpecProblem(field, file + " is empty"));
      }
    } catch (IOException e) {
      problems.add(new SpecProblem(field, "cannot read " + file + ": " + e.getMessage()));
    }
  }

  private boolean escapes(String field, Path path, List<SpecProblem> problems) {
    Optional<String> problem = pathPolicy.checkOnDisk(path);
    problem.ifPresent(message -> problems.add(new SpecProblem(field, message)));
    return problem.isPresent();
  }
}
