package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.common.model.ModelConfig;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.worker.data.DatasetTokenizer;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lorafleet plan} on the example specs in {@code deploy/examples} and on broken input. */
class PlanCommandTest {
  private static final Path EXAMPLES =
      Path.of("..", "deploy", "examples").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** Exit code, stdout and stderr of one command line. */
  record Run(int code, String out, String err) {
    JsonNode json() throws IOException {
      return JSON.readTree(out);
    }
  }

  static synchronized Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.execute(args);
      return new Run(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  private static List<Path> exampleSpecs() throws IOException {
    try (Stream<Path> files = Files.list(EXAMPLES)) {
      return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
  }

  @Test
  void plansEveryExampleSpec() throws IOException {
    List<Path> specs = exampleSpecs();
    assertThat(specs).hasSizeGreaterThanOrEqualTo(3);
    for (Path spec : specs) {
      Run run = run("plan", spec.toString(), "--json", "--tokens-per-second-per-gpu", "1500");
      assertThat(run.code()).as(spec + ": " + run.err()).isZero();
      JsonNode plan = run.json();
      String modelDir = plan.get("model").asText();
      ModelConfig config = ModelConfig.load(Path.of(modelDir));
      long trainable = plan.get("trainableParams").asLong();
      assertThat(trainable).as(spec.toString()).isPositive();
      assertThat(plan.get("totalParams").asLong()).isEqualTo(config.parameterCount() + trainable);
      JsonNode memory = plan.get("memoryPerGpuBytes");
      assertThat(memory.get("total").asLong())
          .isGreaterThan(memory.get("weights").asLong())
          .isEqualTo(
              memory.get("weights").asLong()
                  + memory.get("adapter").asLong()
                  + memory.get("gradients").asLong()
                  + memory.get("optimizer").asLong()
                  + memory.get("activations").asLong()
                  + memory.get("overhead").asLong());
      assertThat(memory.get("weights").asLong()).isEqualTo(config.parameterCount() * 2);
      assertThat(plan.get("fitsOn").size()).isEqualTo(5);
      assertThat(plan.get("fitsOn").get("141GB").asBoolean()).as(spec.toString()).isTrue();
      assertThat(plan.get("assumptions").size()).isGreaterThan(5);

      Run table = run("plan", spec.toString());
      assertThat(table.code()).as(table.err()).isZero();
      assertThat(table.out())
          .contains("trainable params: " + String.format("%,d", trainable))
          .contains("Memory per GPU")
          .contains("Assumptions:");
    }
  }

  @Test
  void plansTheQwenMedicalExampleWithGivenTokensAndThroughput() throws IOException {
    Run run =
        run(
            "plan",
            EXAMPLES.resolve("qwen2.5-7b-medqa.yaml").toString(),
            "--json",
            "--tokens-per-epoch",
            "10000000",
            "--tokens-per-second-per-gpu",
            "1000");
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode plan = run.json();
    // Qwen2.5-7B, r=16 on q,v: 28 · 16·((3584+3584) + (3584+512)) = 5,046,272
    assertThat(plan.get("trainableParams").asLong()).isEqualTo(5_046_272L);
    assertThat(plan.get("totalParams").asLong()).isEqualTo(7_615_616_512L + 5_046_272L);
    assertThat(plan.get("workers").asInt()).isEqualTo(4);
    assertThat(plan.get("gpusPerWorker").asInt()).isEqualTo(8);
    assertThat(plan.get("globalBatch").get("divides").asBoolean()).isTrue();
    // 1e7 tokens / (1000 tokens/s × 32 GPUs) = 312.5 s; 32 GPUs × 312.5/3600 h × 2.5 CNY
    assertThat(plan.get("secondsPerEpoch").asDouble()).isCloseTo(312.5, within(1e-9));
    double perEpoch = 32 * 312.5 / 3600 * 2.5;
    assertThat(plan.get("costPerEpoch").asDouble()).isCloseTo(perEpoch, within(1e-9));
    assertThat(plan.get("totalCost").asDouble()).isCloseTo(3 * perEpoch, within(1e-9));
    assertThat(plan.get("currency").asText()).isEqualTo("CNY");
    // micro-batch 1 × 1024 tokens: about 30 GB with eager attention
    assertThat(plan.get("fitsOn").get("24GB").asBoolean()).isFalse();
    assertThat(plan.get("fitsOn").get("40GB").asBoolean()).isTrue();
  }

  @Test
  void saysTokenFiguresAreUnavailableWithoutTokenizerOrDatasets() throws IOException {
    Run run = run("plan", EXAMPLES.resolve("llama3-8b-chat.yaml").toString(), "--json");
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode plan = run.json();
    assertThat(plan.get("tokensPerEpoch").isNull()).isTrue();
    assertThat(plan.get("totalCost").isNull()).isTrue();
    assertThat(plan.get("unavailable").get(0).asText()).contains("no tokenizer.json");
    // Llama-3-8B, r=16 on all seven projections: 41,943,040, as PEFT prints it
    assertThat(plan.get("trainableParams").asLong()).isEqualTo(41_943_040L);
  }

  @Test
  void countsTinyExampleTokensAsTheShardPlannerMixesThem() throws IOException {
    Path spec = EXAMPLES.resolve("tiny-cpu.yaml");
    Run run = run("plan", spec.toString(), "--json", "--tokens-per-second-per-gpu", "100");
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode plan = run.json();
    // 96 + 32 examples: an epoch has as many samples as the datasets together
    JsonNode epochs = plan.get("epochs");
    assertThat(epochs.size()).isEqualTo(2);
    assertThat(epochs.get(0).get("samples").asLong()).isEqualTo(128);
    assertThat(plan.get("stepsPerEpoch").asInt()).isEqualTo(8);
    long[] totals = datasetTokens();
    // weight 0.8 : 0.2 draws 102 of the 96 first examples and 26 of the 32 second ones: more
    // first-dataset tokens than one pass over both, fewer than all-first
    long onePass = totals[0] + totals[1];
    assertThat(epochs.get(0).get("tokens").asLong()).isNotEqualTo(onePass);
    double seconds = plan.get("secondsPerEpoch").asDouble();
    assertThat(seconds).isCloseTo(plan.get("tokensPerEpoch").asLong() / 200.0, within(1.0));

    // with weights in proportion to the sizes (96:32 = 3:1) every example is seen once
    String proportional =
        Files.readString(spec)
            .replace("weight: 0.8", "weight: 3")
            .replace("weight: 0.2", "weight: 1")
            .replace("models/", EXAMPLES + "/models/")
            .replace("data/", EXAMPLES + "/data/");
    Path copy = dir.resolve("tiny-proportional.yaml");
    Files.writeString(copy, proportional);
    Run even = run("plan", copy.toString(), "--json");
    assertThat(even.code()).as(even.err()).isZero();
    assertThat(even.json().get("epochs").get(0).get("tokens").asLong()).isEqualTo(onePass);
    assertThat(even.json().get("epochs").get(1).get("tokens").asLong()).isEqualTo(onePass);
  }

  /** The tokens of the tiny example's two datasets, each example once. */
  private static long[] datasetTokens() {
    try (DatasetTokenizer t = DatasetTokenizer.open(EXAMPLES.resolve("models/tiny-llama"), 128)) {
      return new long[] {
        t.tokenize(EXAMPLES.resolve("data/tiny-train.jsonl"), JobSpec.OnBadRecord.FAIL, 0)
            .tokenCount(),
        t.tokenize(EXAMPLES.resolve("data/tiny-general.jsonl"), JobSpec.OnBadRecord.FAIL, 0)
            .tokenCount()
      };
    }
  }

  @Test
  void sevenBFitsOn24GbWithShortSequencesAndSeventyBDoesNotFitOn80Gb() throws IOException {
    Path qwen = EXAMPLES.resolve("models/Qwen2.5-7B-Instruct");
    Run seven = run("plan", writeSpec(qwen, 16, 1, 256).toString(), "--json");
    assertThat(seven.code()).as(seven.err()).isZero();
    assertThat(seven.json().get("fitsOn").get("24GB").asBoolean()).isTrue();

    Path llama70 = dir.resolve("Llama-2-70b-hf");
    Files.createDirectories(llama70);
    Files.writeString(
        llama70.resolve("config.json"),
        """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 8192, "intermediate_size": 28672,
         "max_position_embeddings": 4096, "model_type": "llama", "num_attention_heads": 64,
         "num_hidden_layers": 80, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
         "tie_word_embeddings": false, "torch_dtype": "float16", "vocab_size": 32000}
        """);
    Run seventy = run("plan", writeSpec(llama70, 16, 1, 256).toString(), "--json");
    assertThat(seventy.code()).as(seventy.err()).isZero();
    JsonNode plan = seventy.json();
    assertThat(plan.get("totalParams").asLong() - plan.get("trainableParams").asLong())
        .isEqualTo(68_976_648_192L);
    assertThat(plan.get("fitsOn").get("80GB").asBoolean()).isFalse();
    assertThat(plan.get("maxMicroBatchSize").get("80GB").asInt()).isZero();
  }

  private Path writeSpec(Path model, int r, int micro, int seqLen) throws IOException {
    Path spec = dir.resolve("job-" + model.getFileName() + ".yaml");
    Files.writeString(
        spec,
        """
        name: fit-check
        model: %s
        datasets: [{path: %s}]
        lora: {r: %d, alpha: %d, targetModules: [q_proj, v_proj]}
        training: {globalBatchSize: 8, microBatchSize: %d, maxSeqLen: %d}
        """
            .formatted(model, dir.resolve("absent.jsonl"), r, 2 * r, micro, seqLen));
    return spec;
  }

  @Test
  void probeMeasuresThroughputWithRealStepsAndPricesTheEpochWithIt() throws IOException {
    Path model = dir.resolve("tiny-with-weights");
    new TinyModelWriter().optVocabSize(512).optHiddenSize(32).optIntermediateSize(64).write(model);
    for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
      Files.copy(EXAMPLES.resolve("models/tiny-llama").resolve(file), model.resolve(file));
    }
    Path spec = dir.resolve("probe.yaml");
    Files.writeString(
        spec,
        Files.readString(EXAMPLES.resolve("tiny-cpu.yaml"))
            .replace("model: models/tiny-llama", "model: " + model)
            .replace("data/", EXAMPLES + "/data/"));

    Run run = run("plan", spec.toString(), "--json", "--probe", "--probe-steps", "1");
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.err()).contains("probe: warm-up step 0").contains("probe: timed step 1");
    JsonNode plan = run.json();
    double perGpu = plan.get("tokensPerSecondPerGpu").asDouble();
    assertThat(perGpu).isPositive();
    // 2 workers × 1 GPU
    assertThat(plan.get("secondsPerEpoch").asDouble())
        .isCloseTo(plan.get("tokensPerEpoch").asLong() / (2 * perGpu), within(1e-6));
    assertThat(plan.get("totalCost").asDouble()).isPositive();
    assertThat(plan.get("assumptions").toString())
        .contains("measured on this machine: 1 step of 8 samples (micro-batch 4");

    Run noWeights = run("plan", EXAMPLES.resolve("tiny-cpu.yaml").toString(), "--probe");
    assertThat(noWeights.code()).isEqualTo(1);
    assertThat(noWeights.err())
        .contains("--probe trains a few real steps and needs the model's weights");
  }

  @Test
  void saysWhyTokensAreUnavailableWhenADatasetLineIsBad() throws IOException {
    Path data = dir.resolve("broken.jsonl");
    Files.writeString(
        data,
        Files.readAllLines(EXAMPLES.resolve("data/tiny-train.jsonl")).get(0)
            + "\n{\"instruction\": 42}\n");
    Path spec = dir.resolve("broken.yaml");
    Files.writeString(
        spec,
        """
        name: broken
        model: %s
        datasets: [{path: %s}]
        training: {globalBatchSize: 4, microBatchSize: 1, maxSeqLen: 64}
        """
            .formatted(EXAMPLES.resolve("models/tiny-llama"), data));
    Run run = run("plan", spec.toString(), "--json");
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.json().get("tokensPerEpoch").isNull()).isTrue();
    assertThat(run.json().get("unavailable").get(0).asText()).contains("broken.jsonl");
  }

  @Test
  void refusesAnUnknownArchitectureNamingTheFile() throws IOException {
    Path model = dir.resolve("gpt2");
    Files.createDirectories(model);
    Files.writeString(
        model.resolve("config.json"), "{\"architectures\":[\"GPT2LMHeadModel\"],\"n_embd\":768}");
    Run run = run("plan", writeSpec(model, 8, 1, 128).toString());
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.err())
        .contains("lorafleet plan:")
        .contains(model.resolve("config.json").toString())
        .contains("unknown architecture 'GPT2LMHeadModel'");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void refusesAMissingConfigAndAnInvalidSpec() throws IOException {
    Run missing = run("plan", writeSpec(dir.resolve("nowhere"), 8, 1, 128).toString());
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err()).contains("config.json: not found");

    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "name: x\nmodel: /m\ndatasets: []\nlora: {r: 0}\n");
    Run invalid = run("plan", bad.toString());
    assertThat(invalid.code()).isEqualTo(1);
    assertThat(invalid.err()).contains("invalid job spec").contains("lora.r");

    Run noFile = run("plan", dir.resolve("absent.yaml").toString());
    assertThat(noFile.code()).isEqualTo(2);
    assertThat(noFile.err()).contains("not found");

    Run negative =
        run(
            "plan",
            EXAMPLES.resolve("tiny-cpu.yaml").toString(),
            "--tokens-per-second-per-gpu",
            "-3");
    assertThat(negative.code()).isEqualTo(2);
    assertThat(negative.err()).contains("must be a positive number");
  }
}
