package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.plan.PlanJson;
import dev.lorafleet.common.plan.TrainingPlan;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.coordinator.plan.PlanService;
import dev.lorafleet.coordinator.plan.ThroughputProbe;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lorafleet plan JOB.yaml}: parameters, memory per GPU, fit per GPU size, the fleet, and
 * time and money per epoch, from the job spec and the model's {@code config.json} alone.
 */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Parameters, memory per GPU, GPUs, time and money for a job, before renting.",
      "Needs only the model's config.json; counts tokens when the model's tokenizer and the"
          + " datasets are here; time and money need a throughput (--tokens-per-second-per-gpu"
          + " or --probe)."
    })
final class PlanCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job spec (YAML or JSON).")
  Path jobFile;

  @Option(names = "--json", description = "Print one JSON object instead of the table.")
  boolean json;

  @Option(
      names = "--probe",
      description =
          "Measure the throughput with a few real training steps on this machine (needs the"
              + " model's weights and the datasets).")
  boolean probe;

  @Option(
      names = "--tokens-per-second-per-gpu",
      paramLabel = "N",
      description = "Training throughput of one GPU, for time and money.")
  Double tokensPerSecondPerGpu;

  @Option(
      names = "--probe-steps",
      paramLabel = "N",
      defaultValue = "3",
      description = "Timed steps of --probe, after one warm-up step (default: ${DEFAULT-VALUE}).")
  int probeSteps;

  @Option(
      names = "--tokens-per-epoch",
      paramLabel = "N",
      description = "Use this token count instead of tokenizing the datasets.")
  Long tokensPerEpoch;

  @Override
  public Integer call() throws Exception {
    if (tokensPerSecondPerGpu != null
        && (!(tokensPerSecondPerGpu > 0) || tokensPerSecondPerGpu.isInfinite())) {
      throw new ParameterException(
          spec.commandLine(),
          "--tokens-per-second-per-gpu must be a positive number, not " + tokensPerSecondPerGpu);
    }
    if (tokensPerEpoch != null && tokensPerEpoch <= 0) {
      throw new ParameterException(
          spec.commandLine(), "--tokens-per-epoch must be positive, not " + tokensPerEpoch);
    }
    if (probeSteps < 1) {
      throw new ParameterException(
          spec.commandLine(), "--probe-steps must be at least 1, not " + probeSteps);
    }
    if (probe && tokensPerSecondPerGpu != null) {
      throw new ParameterException(
          spec.commandLine(), "give either --probe or --tokens-per-second-per-gpu, not both");
    }
    if (!Files.isRegularFile(jobFile)) {
      throw new ParameterException(spec.commandLine(), "job spec " + jobFile + " not found");
    }
    Path base = jobFile.toAbsolutePath().getParent();
    JobSpec job = new JobSpecParser().parse(jobFile).withPathsResolvedAgainst(base);
    PlanService.Options options =
        new PlanService.Options(
            tokensPerSecondPerGpu, tokensPerSecondPerGpu == null ? null : "given", tokensPerEpoch);
    if (probe) {
      PrintWriter err = spec.commandLine().getErr();
      ThroughputProbe.Measurement m =
          ThroughputProbe.measure(
              job,
              probeSteps,
              line -> {
                err.println(line);
                err.flush();
              });
      options = new PlanService.Options(m.tokensPerSecond(), m.describe(), tokensPerEpoch);
    }
    TrainingPlan plan = PlanService.plan(job, options);
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(PlanJson.toJson(plan));
    } else {
      out.print(PlanTable.render(job, plan));
    }
    out.flush();
    return 0;
  }
}
