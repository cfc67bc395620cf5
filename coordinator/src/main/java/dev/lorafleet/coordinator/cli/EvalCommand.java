package dev.lorafleet.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorafleet.common.lora.LoraConfig;
import dev.lorafleet.common.lora.PeftAdapter;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import dev.lorafleet.worker.data.DatasetTokenizer;
import dev.lorafleet.worker.data.TokenizedDataset;
import dev.lorafleet.worker.data.TokenizedExample;
import dev.lorafleet.worker.training.EvalResult;
import dev.lorafleet.worker.training.ShardTrainer;
import dev.lorafleet.worker.training.TrainerOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Loss and perplexity of a base model, optionally with a PEFT adapter, on a JSONL dataset: is the
 * adapter better on the new task, has the old skill decayed? The loss is the mean cross-entropy
 * over response tokens, as during training; with {@code --json} one line per example.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = "Loss and perplexity of a model, optionally with an adapter, on a dataset.")
final class EvalCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--model", required = true, description = "Hugging Face model directory.")
  Path model;

  @Option(names = "--adapter", description = "PEFT adapter directory (default: the base model).")
  Path adapter;

  @Option(names = "--data", required = true, description = "JSONL dataset (alpaca or chat).")
  Path data;

  @Option(
      names = "--json",
      description = "One JSON line per example: index, input_ids, labels, loss.")
  boolean json;

  @Option(
      names = "--max-seq-len",
      defaultValue = "2048",
      description = "Truncate examples to this many tokens (default ${DEFAULT-VALUE}).")
  int maxSeqLen;

  @Option(
      names = "--micro-batch-size",
      defaultValue = "4",
      description = "Examples per forward pass (default ${DEFAULT-VALUE}).")
  int microBatchSize;

  @Option(
      names = "--devices",
      defaultValue = "auto",
      description = "GPUs to use, or auto (all GPUs, else the CPU).")
  String devices;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ModelConfig config = ModelConfig.load(model);
    LoraConfig lora = LoraConfig.of(1, 1, 0, "q_proj");
    float[] parameters = null;
    if (adapter != null) {
      PeftAdapter.Loaded loaded = PeftAdapter.read(adapter, config);
      lora = loaded.config();
      parameters = loaded.parameters();
      if (!loaded.absentModules().isEmpty()) {
        err.println(
            "The adapter has no weights for "
                + loaded.absentModules().size()
                + " targeted modules ("
                + String.join(
                    ", ",
                    loaded.absentModules().subList(0, Math.min(4, loaded.absentModules().size())))
                + (loaded.absentModules().size() > 4 ? ", …" : "")
                + "); they run as the base model.");
      }
    }
    TokenizedDataset dataset;
    try (DatasetTokenizer tokenizer = DatasetTokenizer.open(model, maxSeqLen)) {
      dataset = tokenizer.tokenize(data, OnBadRecord.FAIL, 0);
    }
    if (dataset.truncatedCount() > 0) {
      err.println(dataset.summary(maxSeqLen));
    }
    TrainerOptions options =
        TrainerOptions.defaults()
            .withDevices(parseDevices(devices))
            .withMicroBatchSize(microBatchSize);
    EvalResult result;
    try (ShardTrainer trainer = ShardTrainer.open(model, lora, options)) {
      result = trainer.evaluate(parameters, dataset.examples());
    }
    if (json) {
      printJsonLines(out, dataset.examples(), result);
    } else {
      out.printf(
          Locale.ROOT,
          "%s%s on %s: %d examples, %d loss tokens, loss %.4f, perplexity %.3f%n",
          model,
          adapter == null ? "" : " + " + adapter,
          data,
          dataset.size(),
          result.totalTokens(),
          result.meanLoss(),
          result.perplexity());
    }
    out.flush();
    return 0;
  }

  private static void printJsonLines(
      PrintWriter out, List<TokenizedExample> examples, EvalResult result) {
    ObjectMapper mapper = new ObjectMapper();
    Map<Integer, Integer> position = new HashMap<>();
    for (int i = 0; i < result.indices().length; i++) {
      position.put(result.indices()[i], i);
    }
    for (TokenizedExample e : examples) {
      int at = position.get(e.index());
      ObjectNode line = mapper.createObjectNode();
      line.put("index", e.index());
      ArrayNode ids = line.putArray("input_ids");
      for (int id : e.inputIds()) {
        ids.add(id);
      }
      ArrayNode labels = line.putArray("labels");
      for (int label : e.labels()) {
        labels.add(label);
      }
      double loss = result.exampleLoss(at);
      if (Double.isNaN(loss)) {
        line.putNull("loss");
      } else {
        line.put("loss", loss);
      }
      out.println(line);
    }
  }

  static int parseDevices(String value) {
    if (value.equalsIgnoreCase("auto")) {
      return 0;
    }
    try {
      int n = Integer.parseInt(value);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // fall through to the error below
    }
    throw new IllegalArgumentException("--devices must be a positive number or auto, not " + value);
  }
}
