package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = "Cancel a job (a final checkpoint is written).")
final class CancelCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'cancel' is not built yet (issue #4)");
  }
}
