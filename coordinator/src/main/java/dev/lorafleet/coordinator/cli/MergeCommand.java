package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #8 lands: refuses to run rather than pretend. */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = "Fold an adapter into the base weights and write a Hugging Face model.")
final class MergeCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'merge' is not built yet (issue #8)");
  }
}
