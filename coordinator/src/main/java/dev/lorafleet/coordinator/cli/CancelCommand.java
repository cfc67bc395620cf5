package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cancel JOB_ID}: stops a job; the coordinator writes a final checkpoint. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = "Cancel a job (a final checkpoint is written).")
final class CancelCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ClientOptions client;

  @Parameters(paramLabel = "JOB_ID", description = "The job to cancel.")
  String jobId;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    JobView job = client.client().cancel(jobId);
    if (job.state().isTerminal()) {
      out.println("Job " + job.id() + " has ended: " + job.state() + ".");
    } else {
      out.println(
          "Cancelling job "
              + job.id()
              + " ("
              + job.name()
              + "); the coordinator writes a final checkpoint first.");
    }
    out.flush();
    return 0;
  }
}
