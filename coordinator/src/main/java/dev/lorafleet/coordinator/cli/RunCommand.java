package dev.lorafleet.coordinator.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Runs one job on this machine: a coordinator and N local worker processes. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Run a job on this machine: a coordinator and N local worker processes.")
final class RunCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job spec (YAML or JSON).")
  Path jobFile;

  @Option(
      names = "--local-workers",
      defaultValue = "1",
      description = "Worker processes to start on this machine (default ${DEFAULT-VALUE}).")
  int localWorkers;

  @Option(
      names = "--data-dir",
      defaultValue = "${env:LORAFLEET_DATA_DIR:-lorafleet-data}",
      description = "Where jobs, checkpoints and reports go (default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--metrics-port",
      defaultValue = "${env:LORAFLEET_METRICS_PORT:-9400}",
      description =
          "Prometheus metrics port of the coordinator; worker i uses the port 1 + i above it"
              + " (default ${DEFAULT-VALUE}; a taken port is replaced by a free one; 0: free ports).")
  int metricsPort;

  @Override
  public Integer call() throws Exception {
    if (localWorkers < 1) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--local-workers must be at least 1");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (metricsPort < 0 || metricsPort > 65535) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--metrics-port must be a port number (0 picks free ports)");
    }
    return new LocalRun(out, err).run(jobFile, localWorkers, dataDir, metricsPort);
  }
}
