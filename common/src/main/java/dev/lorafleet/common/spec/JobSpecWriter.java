package dev.lorafleet.common.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.lorafleet.common.spec.JobSpec.Dataset;
import dev.lorafleet.common.spec.JobSpec.EvalSet;
import dev.lorafleet.common.spec.JobSpec.SpecEnum;
import java.io.UncheckedIOException;

/**
 * Writes a job spec in the spec's own format with every default spelled out: the {@code spec.yaml}
 * kept next to a job, and the text the command line sends. {@link JobSpecParser} reads what this
 * writes back to an equal {@link JobSpec}.
 */
public final class JobSpecWriter {
  private static final YAMLMapper YAML =
      YAMLMapper.builder()
          .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
          // a name such as "007" must stay text when read back
          .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
          .build();
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private JobSpecWriter() {}

  /** The spec as YAML, fields in DESIGN.md's order. */
  public static String toYaml(JobSpec spec) {
    try {
      return YAML.writeValueAsString(toTree(spec));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write job spec '" + spec.name() + "' as YAML", e);
    }
  }

  /** The spec as indented JSON, fields in DESIGN.md's order. */
  public static String toJson(JobSpec spec) {
    try {
      return JSON.writeValueAsString(toTree(spec));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write job spec '" + spec.name() + "' as JSON", e);
    }
  }

  /** The spec as a Jackson tree (nulls kept, so a checker can report them missing). */
  public static ObjectNode toTree(JobSpec spec) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    ObjectNode root = nodes.objectNode();
    root.put("name", spec.name());
    root.put("model", spec.model());
    if (spec.datasets() == null) {
      root.putNull("datasets");
    } else {
      ArrayNode datasets = root.putArray("datasets");
      for (Dataset dataset : spec.datasets()) {
        datasets.addObject().put("path", dataset.path()).put("weight", dataset.weight());
      }
    }
    ArrayNode eval = root.putArray("eval");
    for (EvalSet set : spec.eval()) {
      eval.addObject().put("name", set.name()).put("path", set.path());
    }
    JobSpec.Lora lora = spec.lora();
    ObjectNode loraNode =
        root.putObject("lora")
            .put("r", lora.r())
            .put("alpha", lora.alpha())
            .put("dropout", lora.dropout());
    if (lora.targetModules() == null) {
      loraNode.putNull("targetModules");
    } else {
      ArrayNode modules = loraNode.putArray("targetModules");
      lora.targetModules().forEach(modules::add);
    }
    loraNode.put("useRslora", lora.useRslora());
    JobSpec.Training t = spec.training();
    root.putObject("training")
        .put("epochs", t.epochs())
        .put("learningRate", t.learningRate())
        .put("scheduler", name(t.scheduler()))
        .put("warmupSteps", t.warmupSteps())
        .put("globalBatchSize", t.globalBatchSize())
        .put("microBatchSize", t.microBatchSize())
        .put("maxSeqLen", t.maxSeqLen())
        .put("seed", t.seed())
        .put("weightDecay", t.weightDecay())
        .put("maxGradNorm", t.maxGradNorm())
        .put("onBadRecord", name(t.onBadRecord()))
        .put("gradientDtype", name(t.gradientDtype()));
    JobSpec.Cluster c = spec.cluster();
    root.putObject("cluster")
        .put("workers", c.workers())
        .put("gpusPerWorker", c.gpusPerWorker())
        .put("pricePerGpuHour", c.pricePerGpuHour())
        .put("currency", c.currency());
    root.putObject("checkpoint")
        .put("everySteps", spec.checkpoint().everySteps())
        .put("keepLast", spec.checkpoint().keepLast());
    return root;
  }

  private static String name(SpecEnum value) {
    return value.specName();
  }
}
