package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.spec.InvalidSpecException;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.spec.JobSpecWriter;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.coordinator.api.ApiJson;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.cli.ApiClient.ApiException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code submit JOB.yaml [--wait]}: checks the spec here first (every problem by field path), makes
 * relative paths absolute against the spec's directory, sends it, and with {@code --wait} shows
 * progress until the job ends (exit 0 only when it SUCCEEDED).
 */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = "Submit a job spec to a coordinator.")
final class SubmitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ClientOptions client;

  @Parameters(paramLabel = "JOB.yaml", description = "The job spec (YAML or JSON).")
  Path specFile;

  @Option(
      names = "--wait",
      description = "Show progress until the job ends; exit 0 only if it succeeded.")
  boolean waitForEnd;

  @Option(names = "--json", description = "Print the submitted job as the API's JSON.")
  boolean json;

  @Option(
      names = "--poll-interval-ms",
      hidden = true,
      defaultValue = "2000",
      description = "How often --wait asks for the job's state.")
  long pollIntervalMillis;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(specFile);
    } catch (NoSuchFileException e) {
      err.println("lorafleet submit: " + specFile + " does not exist");
      return 1;
    } catch (IOException e) {
      err.println("lorafleet submit: cannot read " + specFile + ": " + e.getMessage());
      return 1;
    }
    JobSpec jobSpec;
    try {
      jobSpec = new JobSpecParser().parse(bytes, specFile.toString());
    } catch (InvalidSpecException e) {
      printProblems(err, specFile + " is not a valid job spec", e.problems());
      return 1;
    }
    // The coordinator has no working directory: relative paths mean "next to the spec file".
    String text =
        jobSpec.hasRelativePaths()
            ? JobSpecWriter.toYaml(
                jobSpec.withPathsResolvedAgainst(specFile.toAbsolutePath().getParent()))
            : new String(bytes, StandardCharsets.UTF_8);

    ApiClient api = client.client();
    JobView job;
    try {
      job = api.submit(text);
    } catch (ApiException e) {
      if (e.status() == 400 && !e.errors().isEmpty()) {
        printProblems(err, "the coordinator refused " + specFile, e.errors());
        return 1;
      }
      throw e;
    }
    if (json) {
      out.println(ApiJson.write(job));
    } else {
      out.println("Submitted job " + job.id() + " (" + job.name() + ") to " + api.base() + ".");
    }
    out.flush();
    if (!waitForEnd) {
      return 0;
    }
    JobView last = new JobWaiter(api, pollIntervalMillis, err).waitForEnd(job, out);
    return CommandResults.exitCodeOf(last, out, err);
  }

  static void printProblems(PrintWriter err, String headline, List<SpecProblem> problems) {
    err.println(
        "lorafleet submit: "
            + headline
            + (problems.size() == 1 ? " (1 problem):" : " (" + problems.size() + " problems):"));
    for (SpecProblem problem : problems) {
      err.println("  " + problem);
    }
    err.flush();
  }
}
