package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #6 lands: refuses to run rather than pretend. */
@Command(
    name = "scale",
    mixinStandardHelpOptions = true,
    description = "Set the number of worker nodes (Kubernetes).")
final class ScaleCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'scale' is not built yet (issue #6)");
  }
}
