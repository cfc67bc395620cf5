package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Run a job on this machine: a coordinator and N local worker processes.")
final class RunCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'run' is not built yet (issue #4)");
  }
}
