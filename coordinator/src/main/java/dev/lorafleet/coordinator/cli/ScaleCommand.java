package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.ScaleView;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code scale --workers N}: asks the coordinator for N worker nodes (Kubernetes). */
@Command(
    name = "scale",
    mixinStandardHelpOptions = true,
    description = "Set the number of worker nodes (Kubernetes).")
final class ScaleCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ClientOptions client;

  @Option(
      names = "--workers",
      paramLabel = "N",
      required = true,
      description = "How many worker nodes to run (0 stops them all).")
  int workers;

  @Override
  public Integer call() {
    if (workers < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--workers must be 0 or more, got " + workers);
    }
    PrintWriter out = spec.commandLine().getOut();
    ScaleView view = client.client().scale(workers);
    out.println(
        "Asked for "
            + view.replicas()
            + " worker"
            + (view.replicas() == 1 ? "" : "s")
            + "; "
            + view.currentWorkers()
            + " in the cluster now (new nodes join as they start).");
    out.flush();
    return 0;
  }
}
