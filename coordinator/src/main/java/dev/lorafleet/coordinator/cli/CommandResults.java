package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;

/** How a waited-for job ends a command: its report table, a last line, the exit code. */
final class CommandResults {
  private CommandResults() {}

  /** 0 when the job SUCCEEDED; 1 when it FAILED or was CANCELLED (with the reason on stderr). */
  static int exitCodeOf(JobView job, PrintWriter out, PrintWriter err) {
    if (!job.epochs().isEmpty()) {
      out.println();
      out.print(EpochTable.render(job.epochs(), job.currency()));
      out.flush();
    }
    if (job.state() == JobState.SUCCEEDED) {
      return 0;
    }
    err.println(
        "lorafleet: job "
            + job.id()
            + " ended "
            + job.state()
            + (job.error() == null ? "" : ": " + job.error()));
    err.flush();
    return 1;
  }
}
