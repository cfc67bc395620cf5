package dev.lorafleet.coordinator.cli;

import picocli.CommandLine.Command;

/** The project's own benchmarks; each prints its figures and, on the last line, its ratios. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks that print figures and ratios measured side by side.",
    subcommands = {TrainStepBench.class, TransportBenchCommand.class, StepOverheadBench.class})
final class BenchCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
