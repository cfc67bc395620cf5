package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #8 lands: refuses to run rather than pretend. */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = "Parameters, memory per GPU, GPUs, time and money for a job, before renting.")
final class PlanCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'plan' is not built yet (issue #8)");
  }
}
