package dev.lorafleet.common.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.spec.JobSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainingPlannerTest {

  private static JobSpec spec(int gbs, int micro, int seqLen, int workers, int gpus, double price) {
    return new JobSpec(
        "t",
        "/models/Qwen2.5-7B",
        List.of(new JobSpec.Dataset("/data/a.jsonl", 0.9), new JobSpec.Dataset("/b.jsonl", 0.1)),
        List.of(),
        new JobSpec.Lora(16, 32, 0.05, List.of("q_proj", "v_proj"), false),
        new JobSpec.Training(
            2, 2e-4, JobSpec.Scheduler.COSINE, 0, gbs, micro, seqLen, 42, 0, 1, null, null),
        new JobSpec.Cluster(workers, gpus, price, "CNY"),
        null);
  }

  private static PlanInputs noTokens() {
    return new PlanInputs(null, "no tokenizer.json", null, "no throughput");
  }

  @Test
  void computesTimeAndMoneyFromTokensAndThroughput() {
    TokenCounts tokens =
        new TokenCounts(
            List.of(new EpochTokens(0, 1000L, 3_600_000), new EpochTokens(1, 1000L, 3_240_000)),
            "counted",
            List.of());
    TrainingPlan plan =
        TrainingPlanner.plan(
            spec(64, 4, 1024, 2, 4, 2.5),
            PlanModels.load("Qwen2.5-7B"),
            new PlanInputs(tokens, null, new Throughput(500, "given"), null));
    // 8 GPUs × 500 tokens/s = 4000 tokens/s: 900 s and 810 s; 8 GPU × hours × 2.5
    assertThat(plan.epochs().get(0).seconds()).isCloseTo(900.0, within(1e-9));
    assertThat(plan.epochs().get(1).seconds()).isCloseTo(810.0, within(1e-9));
    assertThat(plan.epochs().get(0).cost()).isCloseTo(8 * 0.25 * 2.5, within(1e-9));
    assertThat(plan.totalCost()).isCloseTo(8 * (1710 / 3600.0) * 2.5, within(1e-9));
    assertThat(plan.costPerEpoch()).isCloseTo(plan.totalCost() / 2, within(1e-12));
    assertThat(plan.secondsPerEpoch()).isCloseTo(855.0, within(1e-9));
    assertThat(plan.tokensPerEpoch()).isEqualTo(3_420_000L);
    assertThat(plan.stepsPerEpoch()).isEqualTo(16); // ceil(1000 / 64)
    assertThat(plan.unavailable()).isEmpty();
    assertThat(plan.coordinatorBytes()).isEqualTo(plan.parameters().trainableParams() * 16);
  }

  @Test
  void leavesTimeAndMoneyOutWithAReasonWhenTokensAreMissing() {
    TrainingPlan plan =
        TrainingPlanner.plan(
            spec(64, 1, 512, 1, 8, 2.5), PlanModels.load("Qwen2.5-7B"), noTokens());
    assertThat(plan.tokensPerEpoch()).isNull();
    assertThat(plan.secondsPerEpoch()).isNull();
    assertThat(plan.totalCost()).isNull();
    assertThat(plan.unavailable()).singleElement().asString().contains("no tokenizer.json");
    JsonNode json = new ObjectMapper().valueToTree(PlanJson.toTree(plan));
    assertThat(json.get("tokensPerEpoch").isNull()).isTrue();
    assertThat(json.get("totalCost").isNull()).isTrue();
    assertThat(json.get("currency").asText()).isEqualTo("CNY");
  }

  @Test
  void warnsWhenMaxSeqLenExceedsTheModelsPositions() {
    // Llama-2-7B was trained on 4096 positions
    TrainingPlan longer =
        TrainingPlanner.plan(
            spec(8, 1, 8192, 1, 1, 1), PlanModels.load("Llama-2-7b-hf"), noTokens());
    assertThat(longer.assumptions().get(0))
        .startsWith(
            "warning: maxSeqLen 8192 is longer than the model's max_position_embeddings 4096");
    TrainingPlan within =
        TrainingPlanner.plan(
            spec(8, 1, 4096, 1, 1, 1), PlanModels.load("Llama-2-7b-hf"), noTokens());
    assertThat(within.assumptions()).noneMatch(a -> a.startsWith("warning"));
  }

  @Test
  void reportsWhetherTheGlobalBatchDivides() {
    BatchPlan even = new BatchPlan(4, 8, 64, 2);
    assertThat(even.divides()).isTrue();
    assertThat(even.samplesPerGpu()).isEqualTo(2);
    assertThat(even.accumulationSteps()).isEqualTo(1);
    assertThat(even.describe()).contains("64 = 32 GPUs × micro-batch 2 × 1 accumulation steps");
    BatchPlan uneven = new BatchPlan(3, 4, 64, 4);
    assertThat(uneven.divides()).isFalse();
    assertThat(uneven.samplesPerGpu()).isEqualTo(6);
    assertThat(uneven.accumulationSteps()).isEqualTo(2);
    assertThat(uneven.describe()).contains("48 or 96 would divide");
    assertThat(new BatchPlan(4, 8, 16, 1).describe()).contains("16 GPUs idle");
  }

  @Test
  void writesTheContractFieldsAsJson() {
    TrainingPlan plan =
        TrainingPlanner.plan(
            spec(32, 1, 256, 2, 4, 1.0),
            PlanModels.load("Qwen2.5-7B"),
            new PlanInputs(
                TokenCounts.uniform(2, 1_000_000, "given"), null, new Throughput(1000, "x"), null));
    JsonNode json = PlanJson.toTree(plan);
    for (String field :
        List.of(
            "totalParams",
            "trainableParams",
            "trainablePercent",
            "adapterBytes",
            "memoryPerGpuBytes",
            "fitsOn",
            "gpusPerWorker",
            "workers",
            "tokensPerEpoch",
            "secondsPerEpoch",
            "costPerEpoch",
            "totalCost",
            "currency",
            "assumptions")) {
      assertThat(json.has(field)).as(field).isTrue();
    }
    // Qwen2.5-7B r=16 q,v: 28 · 16·(7168 + 4096) = 5,046,272
    assertThat(json.get("trainableParams").asLong()).isEqualTo(5_046_272L);
    assertThat(json.get("totalParams").asLong()).isEqualTo(7_615_616_512L + 5_046_272L);
    assertThat(json.get("adapterBytes").asLong()).isEqualTo(5_046_272L * 4);
    JsonNode memory = json.get("memoryPerGpuBytes");
    assertThat(
            memory.get("weights").asLong()
                + memory.get("adapter").asLong()
                + memory.get("gradients").asLong()
                + memory.get("optimizer").asLong()
                + memory.get("activations").asLong()
                + memory.get("overhead").asLong())
        .isEqualTo(memory.get("total").asLong());
    assertThat(json.get("fitsOn").get("24GB").asBoolean()).isTrue();
    assertThat(json.get("workers").asInt()).isEqualTo(2);
    assertThat(json.get("gpusPerWorker").asInt()).isEqualTo(4);
    // 1e6 tokens / (8 GPUs × 1000/s) = 125 s; × 8 GPUs × 1.0 per hour
    assertThat(json.get("secondsPerEpoch").asDouble()).isCloseTo(125.0, within(1e-9));
    assertThat(json.get("totalCost").asDouble()).isCloseTo(2 * 8 * 125 / 3600.0, within(1e-9));
    assertThat(json.get("epochs").get(0).get("samples").isNull()).isTrue();
    assertThat(json.get("assumptions").size()).isGreaterThan(5);
  }
}
