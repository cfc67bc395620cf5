package dev.lorafleet.common.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.spec.JobSpec.Checkpoint;
import dev.lorafleet.common.spec.JobSpec.Cluster;
import dev.lorafleet.common.spec.JobSpec.Dataset;
import dev.lorafleet.common.spec.JobSpec.EvalSet;
import dev.lorafleet.common.spec.JobSpec.GradientDtype;
import dev.lorafleet.common.spec.JobSpec.Lora;
import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import dev.lorafleet.common.spec.JobSpec.Scheduler;
import dev.lorafleet.common.spec.JobSpec.Training;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JobSpecParserTest {
  private static final String MINIMAL =
      """
      name: tiny
      model: /models/tiny
      datasets:
        - {path: /data/train.jsonl}
      """;

  private final JobSpecParser parser = new JobSpecParser();

  static String designExample() throws IOException {
    try (InputStream in =
        JobSpecParserTest.class.getResourceAsStream("/spec/design-example.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** Parses {@code text}, expecting a refusal, and returns its problems as "field: message". */
  private List<String> problemsOf(String text) {
    return problemsOf(parser, text);
  }

  private static List<String> problemsOf(JobSpecParser parser, String text) {
    try {
      JobSpec spec = parser.parse(text);
      throw new AssertionError("expected the spec to be refused, but it parsed: " + spec);
    } catch (InvalidSpecException e) {
      return e.problems().stream().map(SpecProblem::toString).toList();
    }
  }

  @Test
  void parsesDesignExampleWithEveryField() throws Exception {
    JobSpec spec = parser.parse(designExample());

    assertThat(spec)
        .isEqualTo(
            new JobSpec(
                "medqa-lora",
                "/models/Qwen2.5-7B-Instruct",
                List.of(
                    new Dataset("/data/medqa.jsonl", 0.9), new Dataset("/data/general.jsonl", 0.1)),
                List.of(
                    new EvalSet("medqa-heldout", "/data/medqa-eval.jsonl"),
                    new EvalSet("general-regression", "/data/general-eval.jsonl")),
                new Lora(16, 32.0, 0.05, List.of("q_proj", "v_proj"), true),
                new Training(
                    3,
                    2.0e-4,
                    Scheduler.COSINE,
                    100,
                    64,
                    4,
                    2048,
                    42,
                    0.0,
                    1.0,
                    OnBadRecord.SKIP,
                    GradientDtype.BF16),
                new Cluster(4, 8, 2.5, "CNY"),
                new Checkpoint(500, 3)));
    assertThat(spec.lora().scaling()).isEqualTo(32.0 / 4.0); // rsLoRA: alpha / sqrt(16)
  }

  @Test
  void fillsDefaultsWhenOptionalSectionsAreMissing() throws Exception {
    JobSpec spec = parser.parse(MINIMAL);

    assertThat(spec.datasets()).containsExactly(new Dataset("/data/train.jsonl", 1.0));
    assertThat(spec.eval()).isEmpty();
    assertThat(spec.lora()).isEqualTo(Lora.DEFAULT);
    assertThat(spec.training()).isEqualTo(Training.DEFAULT);
    assertThat(spec.cluster()).isEqualTo(Cluster.DEFAULT);
    assertThat(spec.checkpoint()).isEqualTo(Checkpoint.DEFAULT);
    assertThat(spec.training().onBadRecord()).isEqualTo(OnBadRecord.FAIL);
    assertThat(spec.training().gradientDtype()).isEqualTo(GradientDtype.FP32);
    assertThat(spec.lora().useRslora()).isFalse();
  }

  @Test
  void defaultsAlphaToTwiceTheRank() throws Exception {
    JobSpec spec = parser.parse(MINIMAL + "lora: {r: 4}\n");

    assertThat(spec.lora().alpha()).isEqualTo(8.0);
    assertThat(spec.lora().scaling()).isEqualTo(2.0);
  }

  @Test
  void readsTheSameSpecFromJsonAndYaml() throws Exception {
    JobSpec fromYaml = parser.parse(designExample());
    String json = JobSpecWriter.toJson(fromYaml);

    assertThat(json).startsWith("{");
    assertThat(parser.parse(json)).isEqualTo(fromYaml);
  }

  @Test
  void readsAOneLineYamlFlowMapping() throws Exception {
    JobSpec spec =
        parser.parse("{name: tiny, model: /models/tiny, datasets: [{path: /data/a.jsonl}]}");

    assertThat(spec.name()).isEqualTo("tiny");
  }

  @Test
  void writesYamlThatReadsBackEqual() throws Exception {
    JobSpec spec = parser.parse(designExample());
    String yaml = JobSpecWriter.toYaml(spec);

    assertThat(yaml).contains("scheduler: cosine").contains("gradientDtype: bf16");
    assertThat(parser.parse(yaml)).isEqualTo(spec);
  }

  @Test
  void keepsNumericLookingNamesAsTextWhenWritten() throws Exception {
    JobSpec spec = parser.parse(MINIMAL.replace("name: tiny", "name: \"007\""));

    assertThat(parser.parse(JobSpecWriter.toYaml(spec)).name()).isEqualTo("007");
  }

  @Test
  void listsEveryProblemOfABadSpecTogether() {
    List<String> problems =
        problemsOf(
            """
            name: bad
            model: /models/m
            datasets:
              - {path: /data/a.jsonl, weight: 1}
              - {path: /data/b.jsonl, weight: 0}
            lora: {r: 0, dropout: 1.5, targetModules: [q_proj, lm_head]}
            training: {epochs: 3, foo: 1, learningRate: .nan, scheduler: cosin}
            checkpoint: {keepLast: 1}
            """);

    assertThat(problems)
        .containsExactlyInAnyOrder(
            "datasets[1].weight: must be positive (got 0.0)",
            "lora.r: must be > 0 (got 0)",
            "lora.dropout: must be at least 0 and below 1 (got 1.5)",
            "lora.targetModules[1]: unknown target module 'lm_head'; known: q_proj, k_proj,"
                + " v_proj, o_proj, gate_proj, up_proj, down_proj, all-linear",
            "training.learningRate: must be a finite number (got .nan)",
            "training.scheduler: must be one of cosine, linear, constant, got text \"cosin\"",
            "training.foo: unknown field",
            "checkpoint.keepLast: must be at least 2 (got 1): the newest checkpoint may be the one"
                + " a crash interrupted, so resume needs the one before it");
  }

  @Test
  void rejectsUnknownFieldsAtEveryLevelAndSuggestsTheKnownName() {
    List<String> problems =
        problemsOf(
            MINIMAL
                + "learning_rate: 1\n"
                + "training: {learning_rate: 1.0e-4}\n"
                + "lora: {rank: 8}\n"
                + "eval: [{name: e, path: /data/e.jsonl, extra: 1}]\n");

    assertThat(problems)
        .containsExactlyInAnyOrder(
            "learning_rate: unknown field",
            "training.learning_rate: unknown field (did you mean 'learningRate'?)",
            "lora.rank: unknown field",
            "eval[0].extra: unknown field");
  }

  @Test
  void rejectsZeroAndNegativeRank() {
    assertThat(problemsOf(MINIMAL + "lora: {r: 0}\n"))
        .containsExactly("lora.r: must be > 0 (got 0)");
    assertThat(problemsOf(MINIMAL + "lora: {r: -4}\n"))
        .containsExactly("lora.r: must be > 0 (got -4)");
    assertThat(problemsOf(MINIMAL + "lora: {r: 2.5}\n"))
        .containsExactly("lora.r: must be a whole number (got 2.5)");
    assertThat(problemsOf(MINIMAL + "lora: {r: \"16\"}\n"))
        .containsExactly("lora.r: must be a whole number, got text \"16\"");
  }

  @Test
  void rejectsMissingAndEmptyDatasets() {
    assertThat(problemsOf("name: x\nmodel: /m\n")).containsExactly("datasets: is required");
    assertThat(problemsOf("name: x\nmodel: /m\ndatasets: []\n"))
        .containsExactly("datasets: must list at least one dataset");
    assertThat(problemsOf("name: x\nmodel: /m\ndatasets: /data/a.jsonl\n"))
        .containsExactly("datasets: must be a list, got text \"/data/a.jsonl\"");
    assertThat(problemsOf("name: x\nmodel: /m\ndatasets: [{weight: 1}]\n"))
        .containsExactly("datasets[0].path: is required");
  }

  @Test
  void rejectsMissingNameAndModel() {
    assertThat(problemsOf("datasets: [{path: /a.jsonl}]\n"))
        .containsExactly("name: is required", "model: is required");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-0.5", ".nan", "-.inf", "NaN", "Infinity", "heavy"})
  void rejectsWeightsThatAreNotPositiveNumbers(String weight) {
    List<String> problems =
        problemsOf(
            "name: x\nmodel: /m\ndatasets:\n  - {path: /a.jsonl}\n  - {path: /b.jsonl, weight: "
                + weight
                + "}\n");

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("datasets[1].weight: must be");
  }

  @Test
  void rejectsNanAndInfinityInJson() {
    List<String> problems =
        problemsOf(
            "{\"name\":\"x\",\"model\":\"/m\",\"datasets\":[{\"path\":\"/a.jsonl\","
                + "\"weight\":NaN}],\"lora\":{\"alpha\":Infinity},"
                + "\"cluster\":{\"pricePerGpuHour\":1e400}}");

    assertThat(problems)
        .containsExactlyInAnyOrder(
            "datasets[0].weight: must be a finite number (got NaN)",
            "lora.alpha: must be a finite number (got Infinity)",
            "cluster.pricePerGpuHour: must be a finite number (got Infinity)");
  }

  @Test
  void rejectsUnknownTargetModulesDuplicatesAndAllLinearWithOthers() {
    assertThat(problemsOf(MINIMAL + "lora: {targetModules: [q_proj, q_proj]}\n"))
        .containsExactly("lora.targetModules[1]: 'q_proj' is listed twice");
    assertThat(problemsOf(MINIMAL + "lora: {targetModules: [all-linear, v_proj]}\n"))
        .containsExactly(
            "lora.targetModules: all-linear already targets every linear layer; list it alone");
    assertThat(problemsOf(MINIMAL + "lora: {targetModules: []}\n")).hasSize(1);
    assertThat(problemsOf(MINIMAL + "lora: {targetModules: [embed_tokens]}\n").get(0))
        .startsWith("lora.targetModules[0]: unknown target module 'embed_tokens'");
  }

  @Test
  void acceptsAllLinearAsOneNameAndExpandsItInLayerOrder() throws Exception {
    JobSpec spec = parser.parse(MINIMAL + "lora: {targetModules: all-linear}\n");

    assertThat(spec.lora().resolvedTargetModules()).isEqualTo(Lora.LINEAR_MODULES);
    JobSpec some = parser.parse(MINIMAL + "lora: {targetModules: [v_proj, down_proj, q_proj]}\n");
    assertThat(some.lora().resolvedTargetModules())
        .containsExactly("q_proj", "v_proj", "down_proj");
  }

  @Test
  void rejectsOutOfRangeTrainingAndClusterValues() {
    List<String> problems =
        problemsOf(
            MINIMAL
                + "training: {epochs: 0, learningRate: 2, warmupSteps: -1, globalBatchSize: 8,"
                + " microBatchSize: 16, maxSeqLen: 1, weightDecay: -0.1, maxGradNorm: -1}\n"
                + "cluster: {workers: 0, gpusPerWorker: 65, pricePerGpuHour: -1, currency: yuan}\n"
                + "checkpoint: {everySteps: 0, keepLast: 5000}\n");

    assertThat(problems)
        .containsExactlyInAnyOrder(
            "training.epochs: must be > 0 (got 0)",
            "training.learningRate: must be > 0 and at most 1 (got 2.0)",
            "training.warmupSteps: must be >= 0 (got -1)",
            "training.microBatchSize: must not exceed training.globalBatchSize (8), got 16",
            "training.maxSeqLen: must be at least 2 (got 1)",
            "training.weightDecay: must be between 0.0 and 1.0 (got -0.1)",
            "training.maxGradNorm: must be >= 0 (0 turns clipping off), got -1.0",
            "cluster.workers: must be > 0 (got 0)",
            "cluster.gpusPerWorker: must be at most 64 (got 65)",
            "cluster.pricePerGpuHour: must be >= 0 (got -1.0)",
            "cluster.currency: must be a three-letter currency code such as USD, EUR or CNY (got"
                + " 'yuan')",
            "checkpoint.everySteps: must be > 0 (got 0)",
            "checkpoint.keepLast: must be at most 1000 (got 5000)");
  }

  @Test
  void rejectsAWholeNumberTooLargeForItsField() {
    assertThat(problemsOf(MINIMAL + "training: {seed: 99999999999999999999999}\n"))
        .containsExactly("training.seed: is far too large (99999999999999999999999)");
  }

  @Test
  void rejectsSectionsOfTheWrongShape() {
    assertThat(problemsOf(MINIMAL + "lora: 16\n"))
        .containsExactly("lora: must be a mapping (r, alpha, dropout, targetModules), got 16");
    assertThat(problemsOf("- a\n- b\n"))
        .containsExactly(
            "(spec): must be a mapping of fields (name, model, datasets, …), got a list");
  }

  @Test
  void rejectsDeepNestingInYamlAndJson() {
    String yaml = MINIMAL + "lora: " + "[".repeat(5000) + "]".repeat(5000) + "\n";
    String json = "{\"name\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";

    for (String text : List.of(yaml, json)) {
      List<String> problems = problemsOf(text);
      assertThat(problems).hasSize(1);
      assertThat(problems.get(0)).startsWith("(spec): is nested more than 16 levels deep");
    }
  }

  @Test
  void rejectsOversizedInputBeforeParsingIt() {
    JobSpecParser small = new JobSpecParser(PathPolicy.permissive(), 1024);
    String big = MINIMAL + "# " + "x".repeat(2000) + "\n";

    assertThat(problemsOf(small, big))
        .containsExactly(
            "(spec): is " + big.length() + " bytes, more than the limit of 1024 bytes");
    assertThatThrownBy(() -> small.parse(big.getBytes(StandardCharsets.UTF_8), "big.yaml"))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("big.yaml")
        .hasMessageContaining("more than the limit of 1024 bytes");
  }

  @Test
  void rejectsNulBytesInTheTextAndInStrings() {
    assertThat(problemsOf(MINIMAL + "# \0\n"))
        .containsExactly("(spec): contains a NUL byte at line 5, column 3");
    assertThat(problemsOf(MINIMAL.replace("name: tiny", "name: \"ti\\0ny\"")))
        .containsExactly("name: must not contain NUL bytes");
    assertThat(
            problemsOf(
                "{\"name\":\"x\",\"model\":\"/m\\u0000/etc\",\"datasets\":[{\"path\":\"/a\"}]}"))
        .containsExactly("model: must not contain NUL bytes");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "../secret.jsonl",
        "/data/../etc/passwd",
        "data/..",
        "/data/%2e%2e/etc/passwd",
        "/data/%2E%2E%2Fetc",
        "/data/%252e%252e/x",
        "..\\\\windows",
        "file:///etc/passwd",
        "~/data.jsonl",
        "/data/a\\tb"
      })
  void rejectsPathTraversalTricks(String path) {
    List<String> problems =
        problemsOf("name: x\nmodel: /m\ndatasets: [{path: \"" + path + "\"}]\n");

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("datasets[0].path: must");
  }

  @Test
  void rejectsAbsolutePathsOutsideTheAllowedRootsAndRelativePaths() {
    JobSpecParser strict =
        new JobSpecParser(
            PathPolicy.withinRoots(List.of(Path.of("/data"), Path.of("/models"))),
            JobSpecParser.DEFAULT_MAX_BYTES);

    assertThat(
            problemsOf(
                strict,
                "name: x\nmodel: /etc\ndatasets: [{path: /data/a.jsonl}, {path: b.jsonl}]\n"))
        .containsExactly(
            "model: is outside the allowed directories (/data, /models)",
            "datasets[1].path: must be an absolute path (the coordinator has no working"
                + " directory)");
  }

  @Test
  void rejectsDuplicateKeysAndYamlAliases() {
    assertThat(problemsOf(MINIMAL + "name: again\n"))
        .containsExactly("name: appears more than once");
    assertThat(problemsOf("name: &n tiny\nmodel: *n\ndatasets: [{path: /a.jsonl}]\n"))
        .containsExactly("model: is a YAML alias (*n), which a job spec does not accept");
  }

  @Test
  void rejectsDuplicateDatasetsAndEvalNames() {
    assertThat(
            problemsOf(
                "name: x\nmodel: /m\ndatasets: [{path: /a.jsonl}, {path: /b/../a.jsonl}]\n"
                    + "eval: [{name: e, path: /e.jsonl}, {name: e, path: /f.jsonl}]\n"))
        .containsExactly(
            "datasets[1].path: must not contain '..' (paths may not climb out of a directory)",
            "eval[1].name: 'e' is already the name of eval[0]");
    assertThat(problemsOf("name: x\nmodel: /m\ndatasets: [{path: /a.jsonl}, {path: /a.jsonl}]\n"))
        .containsExactly("datasets[1].path: names the same file as datasets[0].path");
  }

  @Test
  void rejectsTextThatIsNotASpec() {
    assertThat(problemsOf("")).containsExactly("(spec): is empty");
    assertThat(problemsOf("   \n")).containsExactly("(spec): is empty");
    assertThat(problemsOf("name: [unclosed\n").get(0)).startsWith("(spec): is not valid YAML");
    assertThat(problemsOf("{\"name\": \"x\",}").get(0)).startsWith("(spec): is not valid JSON");
    assertThat(problemsOf("just a sentence"))
        .containsExactly(
            "(spec): must be a mapping of fields (name, model, datasets, …), got text \"just a"
                + " sentence\"");
    assertThat(problemsOf("a: 1\n---\nb: 2\n").get(0)).startsWith("(spec): has more than one");
  }

  @Test
  void rejectsBytesThatAreNotUtf8AndAcceptsAByteOrderMark() throws Exception {
    byte[] latin1 = "name: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
    assertThatThrownBy(() -> parser.parse(latin1, "spec.yaml"))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("(spec): is not valid UTF-8 text");

    byte[] withBom = ("\uFEFF" + MINIMAL).getBytes(StandardCharsets.UTF_8);
    assertThat(parser.parse(withBom, "spec.yaml").name()).isEqualTo("tiny");
  }

  @Test
  void rejectsBadNames() {
    assertThat(problemsOf(MINIMAL.replace("name: tiny", "name: \"my job\"")).get(0))
        .startsWith("name: must be 1 to 100 letters");
    assertThat(problemsOf(MINIMAL.replace("name: tiny", "name: 42")))
        .containsExactly("name: must be text, got 42");
  }

  @Test
  void validatesASpecBuiltInCodeByTheSameRules() {
    JobSpec spec =
        new JobSpec(
            "built",
            null,
            List.of(new Dataset("/a.jsonl", Double.NaN)),
            List.of(),
            new Lora(0, 16, 0, List.of("q_proj"), false),
            null,
            null,
            new Checkpoint(10, 1));

    assertThat(parser.validate(spec).stream().map(SpecProblem::toString))
        .containsExactly(
            "model: is required",
            "datasets[0].weight: must be a finite number (got NaN)",
            "lora.r: must be > 0 (got 0)",
            "checkpoint.keepLast: must be at least 2 (got 1): the newest checkpoint may be the"
                + " one a crash interrupted, so resume needs the one before it");
  }

  @Test
  void resolvesRelativePathsAgainstTheSpecDirectory() throws Exception {
    JobSpec spec =
        parser.parse("name: x\nmodel: models/m\ndatasets: [{path: data/a.jsonl}, {path: /b}]\n");

    assertThat(spec.hasRelativePaths()).isTrue();
    JobSpec resolved = spec.withPathsResolvedAgainst(Path.of("/work/specs"));
    assertThat(resolved.model()).isEqualTo("/work/specs/models/m");
    assertThat(resolved.datasets().get(0).path()).isEqualTo("/work/specs/data/a.jsonl");
    assertThat(resolved.datasets().get(1).path()).isEqualTo("/b");
    assertThat(resolved.hasRelativePaths()).isFalse();
  }

  @Test
  void neverThrowsAnythingButInvalidSpecOnMutatedInput() throws Exception {
    String base = designExample();
    Random random = new Random(7);
    char[] alphabet = "{}[]:,-\"'\\ \n\t#&*!|>%.0123456789eE+naNIf\0\u00e9".toCharArray();
    int refused = 0;
    for (int i = 0; i < 500; i++) {
      StringBuilder text = new StringBuilder(base);
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(text.length());
        switch (random.nextInt(3)) {
          case 0 -> text.deleteCharAt(at);
          case 1 -> text.insert(at, alphabet[random.nextInt(alphabet.length)]);
          default -> text.setCharAt(at, alphabet[random.nextInt(alphabet.length)]);
        }
      }
      try {
        parser.parse(text.toString());
      } catch (InvalidSpecException e) {
        refused++;
        assertThat(e.problems()).isNotEmpty();
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.message()).isNotBlank());
      }
    }
    assertThat(refused).isGreaterThan(100);
  }
}
