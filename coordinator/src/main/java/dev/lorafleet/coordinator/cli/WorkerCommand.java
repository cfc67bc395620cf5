package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Run a worker node that joins a coordinator.")
final class WorkerCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'worker' is not built yet (issue #4)");
  }
}
