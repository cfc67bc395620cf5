package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code status [JOB_ID] [--json]}: a table of all jobs, or one job with its epoch report. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = "Show one job or all jobs.")
final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ClientOptions client;

  @Parameters(
      paramLabel = "JOB_ID",
      arity = "0..1",
      description = "The job to show; all jobs when omitted.")
  String jobId;

  @Option(names = "--json", description = "Print the API's JSON as it came.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    ApiClient api = client.client();
    if (json) {
      out.println(api.raw(jobId == null ? "/api/v1/jobs" : ApiClient.jobPath(jobId)));
    } else if (jobId == null) {
      out.print(jobsTable(api.jobs()));
    } else {
      out.print(jobDetails(api.job(jobId)));
    }
    out.flush();
    return 0;
  }

  static String jobsTable(List<JobView> jobs) {
    if (jobs.isEmpty()) {
      return "No jobs." + System.lineSeparator();
    }
    TextTable table =
        new TextTable(
            List.of(
                "ID",
                "NAME",
                "STATE",
                ">EPOCH",
                ">STEP",
                ">LOSS",
                ">TOK/S",
                ">ETA",
                ">COST",
                ">PROJECTED",
                "CUR"));
    for (JobView job : jobs) {
      table.row(
          List.of(
              job.id(),
              job.name() == null ? "-" : job.name(),
              job.state().name(),
              job.epoch() > 0 ? Integer.toString(job.epoch()) : "-",
              job.step() + "/" + job.totalSteps(),
              job.loss() == null ? "-" : String.format(Locale.ROOT, "%.4f", job.loss()),
              job.tokensPerSecond() == null
                  ? "-"
                  : String.format(Locale.ROOT, "%,.0f", job.tokensPerSecond()),
              job.etaSeconds() == null || job.state().isTerminal()
                  ? "-"
                  : ProgressPrinter.duration(job.etaSeconds()),
              job.cost() == null ? "-" : ProgressPrinter.money(job.cost()),
              job.projectedCost() == null ? "-" : ProgressPrinter.money(job.projectedCost()),
              job.currency() == null ? "" : job.currency()));
    }
    return table.render();
  }

  static String jobDetails(JobView job) {
    String nl = System.lineSeparator();
    StringBuilder text = new StringBuilder();
    text.append("job ").append(job.id()).append(" (").append(job.name()).append(')').append(nl);
    text.append("  ").append(ProgressPrinter.logLine(job)).append(nl);
    if (!job.epochs().isEmpty()) {
      text.append(nl).append(EpochTable.render(job.epochs(), job.currency()));
    }
    return text.toString();
  }
}
