package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dataset path with the built-in default format (a model directory without chat template). */
class DatasetTokenizerTest {
  @TempDir static Path modelDir;
  @TempDir Path tmp;
  static DatasetTokenizer tokenizer;

  @BeforeAll
  static void writeTinyTokenizer() throws IOException {
    new TinyTokenizerWriter(TinyTokenizerWriter.DEFAULT_VOCAB_SIZE, false).write(modelDir);
    tokenizer = DatasetTokenizer.open(modelDir, 256);
    assertThat(tokenizer.describeFormat()).contains("default template");
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private Path jsonl(String... lines) throws IOException {
    Path f = tmp.resolve("data.jsonl");
    Files.writeString(f, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    return f;
  }

  /** The labelled tokens decoded, in order. */
  private static String labelled(TokenizedExample e) {
    int[] ids = Arrays.stream(e.labels()).filter(l -> l != TokenizedExample.IGNORE_INDEX).toArray();
    return tokenizer.decode(ids);
  }

  @Test
  void labelsOnlyTheAlpacaResponseAndEos() throws IOException {
    TokenizedDataset ds =
        tokenizer.tokenize(
            jsonl(
                "{\"instruction\":\"Reverse the order of the words.\",\"input\":\"red fox\","
                    + "\"output\":\"fox red\"}"),
            OnBadRecord.FAIL,
            7);

    TokenizedExample e = ds.examples().get(0);
    assertThat(e.index()).isEqualTo(7);
    assertThat(labelled(e)).isEqualTo("fox red<|im_end|>");
    assertThat(tokenizer.decode(e.inputIds()))
        .isEqualTo(
            "<s>### Instruction:\nReverse the order of the words.\n\n### Input:\nred fox\n\n"
                + "### Response:\nfox red<|im_end|>");
    // the prompt is masked: every label before the first response token is -100
    int firstLabelled = 0;
    while (e.labels()[firstLabelled] == TokenizedExample.IGNORE_INDEX) {
      firstLabelled++;
    }
    assertThat(tokenizer.decode(Arrays.copyOf(e.inputIds(), firstLabelled)))
        .endsWith("### Response:\n");
    for (int t = firstLabelled; t < e.labels().length; t++) {
      assertThat(e.labels()[t]).isEqualTo(e.inputIds()[t]);
    }
  }

  @Test
  void rendersBosExactlyOnce() throws IOException {
    TokenizedExample e =
        tokenizer
            .tokenize(jsonl("{\"instruction\":\"hi\",\"output\":\"yo\"}"), OnBadRecord.FAIL, 0)
            .examples()
            .get(0);
    int bos = tokenizer.encode(TinyTokenizerWriter.BOS)[0];
    assertThat(e.inputIds()[0]).isEqualTo(bos);
    assertThat(Arrays.stream(e.inputIds()).filter(id -> id == bos).count()).isEqualTo(1);
  }

  @Test
  void labelsEveryAssistantTurnOfAChat() throws IOException {
    TokenizedExample e =
        tokenizer
            .tokenize(
                jsonl(
                    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        + "{\"role\":\"user\",\"content\":\"red cat\"},"
                        + "{\"role\":\"assistant\",\"content\":\"cat red\"},"
                        + "{\"role\":\"user\",\"content\":\"blue dog\"},"
                        + "{\"role\":\"assistant\",\"content\":\"dog blue\"}]}"),
                OnBadRecord.FAIL,
                0)
            .examples()
            .get(0);
    assertThat(labelled(e)).isEqualTo("cat red<|im_end|>dog blue<|im_end|>");
  }

  @Test
  void labelsResponsesWithCharactersOutsideTheBmp() throws IOException {
    TokenizedExample e =
        tokenizer
            .tokenize(
                jsonl("{\"instruction\":\"smile 😀 please\",\"output\":\"😀 wörld ✓\"}"),
                OnBadRecord.FAIL,
                0)
            .examples()
            .get(0);
    assertThat(labelled(e)).isEqualTo("😀 wörld ✓<|im_end|>");
  }

  @Test
  void truncatesAtMaxSeqLenAndCountsIt() throws IOException {
    String longOutput = "red fox ".repeat(200).trim();
    Path f =
        jsonl(
            "{\"instruction\":\"a\",\"output\":\"" + longOutput + "\"}",
            "{\"instruction\":\"b\",\"output\":\"short\"}");
    try (DatasetTokenizer small = DatasetTokenizer.open(modelDir, 64)) {
      TokenizedDataset ds = small.tokenize(f, OnBadRecord.FAIL, 0);
      assertThat(ds.truncatedCount()).isEqualTo(1);
      assertThat(ds.examples().get(0).inputIds()).hasSize(64);
      assertThat(ds.examples().get(0).lossTokens()).isPositive();
      assertThat(ds.examples().get(1).inputIds().length).isLessThan(64);
      assertThat(ds.summary(64)).contains("1 truncated at 64 tokens");
    }
  }

  @Test
  void countsExamplesWhoseResponseWasCutOffEntirely() throws IOException {
    Path f = jsonl("{\"instruction\":\"" + "red ".repeat(100) + "\",\"output\":\"fox\"}");
    try (DatasetTokenizer small = DatasetTokenizer.open(modelDir, 16)) {
      TokenizedDataset ds = small.tokenize(f, OnBadRecord.FAIL, 0);
      assertThat(ds.noLossCount()).isEqualTo(1);
      assertThat(ds.examples().get(0).labels()).containsOnly(TokenizedExample.IGNORE_INDEX);
    }
  }

  @Test
  void roundTripsTextThroughTheTinyTokenizer() {
    for (String text :
        List.of(
            "Reverse the order of the words.\nred fox blue",
            "héllo 😀 wörld, 数字 123\t\r\n  end",
            "<|im_start|>user\nhi<|im_end|>\n")) {
      assertThat(tokenizer.decode(tokenizer.encode(text))).isEqualTo(text);
    }
  }

  @Test
  void tinyTokenizerFitsTheTinyModelsVocabulary() {
    List<Integer> all = new ArrayList<>();
    for (String w : DemoDataWriter.WORDS) {
      for (int id : tokenizer.encode(" " + w)) {
        all.add(id);
      }
      // every demo word is one token after a space, so the demo's sequences stay short
      assertThat(tokenizer.encode(" " + w)).hasSize(1);
    }
    assertThat(all).allMatch(id -> id >= 0 && id < TinyTokenizerWriter.DEFAULT_VOCAB_SIZE);
    assertThat(Arrays.stream(tokenizer.encode("\u0000\u00ff😀")).max().getAsInt()).isLessThan(512);
  }

  @Test
  void skipsBadRecordsAndCountsThem() throws IOException {
    Path f =
        jsonl(
            "{\"instruction\":\"a\",\"output\":\"b\"}",
            "{broken",
            "[1,2]",
            "{\"instruction\":\"c\",\"output\":\"d\"}",
            "{\"instruction\":\"e\"}");
    TokenizedDataset ds = tokenizer.tokenize(f, OnBadRecord.SKIP, 100);
    assertThat(ds.size()).isEqualTo(2);
    assertThat(ds.examples()).extracting(TokenizedExample::index).containsExactly(100, 101);
    assertThat(ds.skippedCount()).isEqualTo(3);
    assertThat(ds.skippedReasons())
        .containsExactly(
            f + ":2: not valid JSON (syntax error at column 2)",
            f + ":3: expected a JSON object per line, found an array",
            f + ":5: field 'output' is missing");
  }

  @Test
  void failsOnTheFirstBadRecordWithFileAndLine() throws IOException {
    Path f = jsonl("{\"instruction\":\"a\",\"output\":\"b\"}", "{\"instruction\":\"secret\"}");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .isInstanceOf(BadRecordException.class)
        .hasMessage(f + ":2: field 'output' is missing")
        .hasMessageNotContaining("secret");
  }

  @Test
  void refusesAnEmptyDataset() throws IOException {
    Path f = tmp.resolve("empty.jsonl");
    Files.writeString(f, "");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.SKIP, 0))
        .isInstanceOf(DatasetException.class)
        .hasMessage(f + ": the dataset is empty (no records)");
  }

  @Test
  void refusesADatasetWhoseRecordsAreAllBad() throws IOException {
    Path f = jsonl("nope", "{}");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.SKIP, 0))
        .isInstanceOf(DatasetException.class)
        .hasMessageStartingWith(f + ": no usable records, all 2 were bad (first: " + f + ":1: ");
  }

  @Test
  void namesTheMissingDatasetFile() {
    Path f = tmp.resolve("absent.jsonl");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .isInstanceOf(DatasetException.class)
        .hasMessage(f + ": dataset file not found");
  }

  @Test
  void namesAMissingTokenizerFile() {
    assertThatThrownBy(() -> DatasetTokenizer.open(tmp, 128))
        .isInstanceOf(DatasetException.class)
        .hasMessageStartingWith(tmp.resolve("tokenizer.json") + ": no tokenizer.json");
  }

  @Test
  void namesAnUnreadableTokenizerFile() throws IOException {
    Files.writeString(tmp.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": 12}");
    assertThatThrownBy(() -> DatasetTokenizer.open(tmp, 128))
        .isInstanceOf(DatasetException.class)
        .hasMessageStartingWith(tmp.resolve("tokenizer.json") + ": cannot load the tokenizer");
  }

  @Test
  void tokenizesTheDemoData() throws IOException {
    DemoDataWriter.DemoDataset files = new DemoDataWriter().write(tmp.resolve("demo"));
    TokenizedDataset train = tokenizer.tokenize(files.train(), OnBadRecord.FAIL, 0);
    TokenizedDataset eval = tokenizer.tokenize(files.eval(), OnBadRecord.FAIL, 0);
    assertThat(train.size()).isEqualTo(384);
    assertThat(eval.size()).isEqualTo(64);
    assertThat(train.truncatedCount()).isZero();
    // short sequences keep the demo fast on two CPU cores
    assertThat(train.examples()).allMatch(e -> e.inputIds().length <= 40);
    assertThat(train.examples()).allMatch(e -> e.lossTokens() >= 4);
  }
}
