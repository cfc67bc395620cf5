package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = "Show one job or all jobs.")
final class StatusCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'status' is not built yet (issue #4)");
  }
}
