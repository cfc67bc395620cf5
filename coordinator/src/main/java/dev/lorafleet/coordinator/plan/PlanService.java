package dev.lorafleet.coordinator.plan;

import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.plan.PlanInputs;
import dev.lorafleet.common.plan.PlanJson;
import dev.lorafleet.common.plan.Throughput;
import dev.lorafleet.common.plan.TokenCounts;
import dev.lorafleet.common.plan.TrainingPlan;
import dev.lorafleet.common.plan.TrainingPlanner;
import dev.lorafleet.common.spec.JobSpec;
import java.nio.file.Path;

/**
 * Plans a job from its spec: the one function behind {@code lorafleet plan} and {@code POST
 * /api/v1/plan}. Needs the model's {@code config.json}; counts tokens when the model's tokenizer
 * and the datasets are on this machine, and says why not otherwise. Blocking (it may tokenize
 * datasets): call it off the actor dispatcher.
 *
 * <pre>{@code
 * TrainingPlan plan = PlanService.plan(spec, PlanService.Options.NONE);
 * String json = PlanJson.toJson(plan);
 * }</pre>
 */
public final class PlanService {
  private PlanService() {}

  /**
   * What the caller knows beyond the spec.
   *
   * @param tokensPerSecondPerGpu a throughput measured or known for this model and GPU, or null
   * @param throughputSource how it was obtained, for the assumptions
   * @param tokensPerEpoch a token count to use instead of counting the datasets, or null
   */
  public record Options(
      Double tokensPerSecondPerGpu, String throughputSource, Long tokensPerEpoch) {
    public static final Options NONE = new Options(null, null, null);

    /** A throughput given by the user. */
    public static Options withThroughput(double tokensPerSecondPerGpu) {
      return new Options(tokensPerSecondPerGpu, "given", null);
    }
  }

  /**
   * Plans a job.
   *
   * @param spec a checked spec with absolute paths (or relative to the working directory)
   * @throws dev.lorafleet.common.model.ModelConfigException when the model's {@code config.json} is
   *     missing or unusable, naming the file and the field
   */
  public static TrainingPlan plan(JobSpec spec, Options options) {
    ModelConfig model = ModelConfig.load(Path.of(spec.model()));
    TokenCounts tokens;
    String tokensUnavailable = null;
    if (options.tokensPerEpoch() != null) {
      tokens =
          TokenCounts.uniform(
              spec.training().epochs(), options.tokensPerEpoch(), "given on the command line");
    } else {
      TokenCounter.Result counted = TokenCounter.count(spec);
      tokens = counted.counts();
      tokensUnavailable = counted.unavailable();
    }
    Throughput throughput = null;
    String throughputUnavailable = null;
    if (options.tokensPerSecondPerGpu() != null) {
      throughput =
          new Throughput(
              options.tokensPerSecondPerGpu(),
              options.throughputSource() == null ? "given" : options.throughputSource());
    } else {
      throughputUnavailable =
          "no throughput; give --tokens-per-second-per-gpu (measured on the GPU you will rent)"
              + " or measure one on this machine with --probe";
    }
    return TrainingPlanner.plan(
        spec, model, new PlanInputs(tokens, tokensUnavailable, throughput, throughputUnavailable));
  }

  /** {@link #plan} as the JSON object the API answers. */
  public static String planJson(JobSpec spec, Options options) {
    return PlanJson.toJson(plan(spec, options));
  }
}
