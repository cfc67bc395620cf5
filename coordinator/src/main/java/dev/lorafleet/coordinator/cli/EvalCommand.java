package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #2 lands: refuses to run rather than pretend. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = "Loss and perplexity of a model, optionally with an adapter, on a dataset.")
final class EvalCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'eval' is not built yet (issue #2)");
  }
}
