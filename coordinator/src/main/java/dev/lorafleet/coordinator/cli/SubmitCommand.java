package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = "Submit a job spec to a coordinator.")
final class SubmitCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'submit' is not built yet (issue #4)");
  }
}
