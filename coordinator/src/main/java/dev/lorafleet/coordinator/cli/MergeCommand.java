package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.wire.DType;
import dev.lorafleet.coordinator.merge.AdapterMerger;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code lorafleet merge}: fold an adapter into the base weights, write a Hugging Face model. */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
      "Fold an adapter into the base weights and write a Hugging Face model.",
      "Writes W + (alpha/r)·B·A for every targeted weight (alpha/sqrt(r) with rsLoRA) as sharded"
          + " safetensors with model.safetensors.index.json, config.json and the tokenizer files."
          + " Never overwrites: --out must be new or empty and outside the inputs."
    })
final class MergeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model.")
  Path model;

  @Option(
      names = "--adapter",
      required = true,
      paramLabel = "DIR",
      description = "PEFT adapter (adapter_config.json, adapter_model.safetensors).")
  Path adapter;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "New model dir.")
  Path out;

  @Option(
      names = "--dtype",
      paramLabel = "bf16|fp16|fp32",
      description = "Dtype of the written weights (default: the model's torch_dtype).")
  String dtype;

  @Option(
      names = "--max-shard-size",
      paramLabel = "SIZE",
      defaultValue = "5GB",
      description = "Largest shard, e.g. 5GB or 500MB (default: ${DEFAULT-VALUE}).")
  String maxShardSize;

  @Override
  public Integer call() {
    AdapterMerger.Options options =
        new AdapterMerger.Options(parseDtype(dtype), parseSize(maxShardSize));
    PrintWriter err = spec.commandLine().getErr();
    AdapterMerger.Result result =
        AdapterMerger.merge(
            model,
            adapter,
            out,
            options,
            line -> {
              err.println(line);
              err.flush();
            });
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.printf(
        Locale.ROOT,
        "merged %d weights (scale %s) into %s: %d shard%s, %.2f GB of %s, copied %s%n",
        result.mergedWeights(),
        result.scaling(),
        result.out(),
        result.shards().size(),
        result.shards().size() == 1 ? "" : "s",
        result.totalBytes() / 1e9,
        result.dtype().name().toLowerCase(Locale.ROOT),
        result.copiedFiles().isEmpty()
            ? "no other files"
            : String.join(", ", result.copiedFiles()));
    if (!result.absentModules().isEmpty()) {
      stdout.println(
          "the adapter had no tensors for "
              + result.absentModules().size()
              + " targeted modules (copied unchanged), e.g. "
              + result.absentModules().get(0));
    }
    stdout.flush();
    return 0;
  }

  private DType parseDtype(String value) {
    if (value == null) {
      return null;
    }
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "bf16", "bfloat16" -> DType.BF16;
      case "fp16", "f16", "float16" -> DType.F16;
      case "fp32", "f32", "float32" -> DType.F32;
      default ->
          throw new ParameterException(
              spec.commandLine(), "--dtype must be bf16, fp16 or fp32, not '" + value + "'");
    };
  }

  private long parseSize(String value) {
    String v = value.trim().toUpperCase(Locale.ROOT);
    long unit = 1;
    for (String[] suffix :
        new String[][] {{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}}) {
      if (v.endsWith(suffix[0])) {
        unit = Long.parseLong(suffix[1]);
        v = v.substring(0, v.length() - 2).trim();
        break;
      }
    }
    try {
      double n = Double.parseDouble(v);
      if (n > 0 && n * unit >= 1) {
        return (long) (n * unit);
      }
    } catch (NumberFormatException e) {
      // fall through to the error below
    }
    throw new ParameterException(
        spec.commandLine(), "--max-shard-size must be like 5GB or 500MB, not '" + value + "'");
  }
}
