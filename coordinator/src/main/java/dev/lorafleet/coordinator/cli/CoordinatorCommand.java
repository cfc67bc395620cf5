package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "coordinator",
    mixinStandardHelpOptions = true,
    description = "Run the coordinator: HTTP API, cluster seed, Aeron, metrics.")
final class CoordinatorCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'coordinator' is not built yet (issue #4)");
  }
}
