package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bad dataset lines: each fails as {@code file:line: reason} without quoting the line (the marker
 * {@code SECRET} in every bad row must never appear in a message), or is skipped and counted.
 */
class DatasetErrorsTest {
  @TempDir static Path modelDir;
  @TempDir Path tmp;
  static DatasetTokenizer tokenizer;

  private static final String GOOD = "{\"instruction\":\"a\",\"output\":\"b\"}";

  @BeforeAll
  static void open() throws IOException {
    new TinyTokenizerWriter().write(modelDir);
    tokenizer = DatasetTokenizer.open(modelDir, 128);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private Path write(byte[] content) throws IOException {
    Path f = tmp.resolve("data.jsonl");
    Files.write(f, content);
    return f;
  }

  private Path write(String content) throws IOException {
    return write(content.getBytes(StandardCharsets.UTF_8));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "broken JSON | {\"instruction\": \"SECRET\", oops} | not valid JSON (syntax error at column 27)",
        "cut short | {\"instruction\": \"SECRET\", \"output\": \"SEC | not valid JSON: the line ends inside a value (is the record cut short?)",
        "trailing garbage | {\"instruction\":\"SECRET\",\"output\":\"x\"} SECRET | not valid JSON (syntax error at column 45)",
        "array | [\"SECRET\"] | expected a JSON object per line, found an array",
        "string | \"SECRET\" | expected a JSON object per line, found a string",
        "number | 42 | expected a JSON object per line, found a number",
        "neither form | {\"prompt\":\"SECRET\",\"completion\":\"SECRET\"} | record has neither 'messages' (chat form) nor 'instruction' and 'output' (alpaca form)",
        "missing output | {\"instruction\":\"SECRET\"} | field 'output' is missing",
        "missing instruction | {\"output\":\"SECRET\"} | field 'instruction' is missing",
        "null output | {\"instruction\":\"SECRET\",\"output\":null} | field 'output' is missing",
        "numeric output | {\"instruction\":\"SECRET\",\"output\":7} | field 'output' must be a string, found a number",
        "object input | {\"instruction\":\"SECRET\",\"input\":{},\"output\":\"x\"} | field 'input' must be a string, found an object",
        "boolean system | {\"instruction\":\"SECRET\",\"output\":\"x\",\"system\":true} | field 'system' must be a string, found a boolean",
        "messages not array | {\"messages\":\"SECRET\"} | field 'messages' must be an array, found a string",
        "messages empty | {\"messages\":[]} | field 'messages' is empty",
        "message not object | {\"messages\":[\"SECRET\"]} | messages[0] must be an object with 'role' and 'content', found a string",
        "role missing | {\"messages\":[{\"content\":\"SECRET\"}]} | field 'messages[0].role' is missing",
        "role unknown | {\"messages\":[{\"role\":\"SECRET\",\"content\":\"x\"}]} | messages[0].role must be one of system, user, assistant (found another value)",
        "content mistyped | {\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"},{\"role\":\"assistant\",\"content\":[1]}]} | field 'messages[1].content' must be a string, found an array",
        "reasoning mistyped | {\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"},{\"role\":\"assistant\",\"content\":\"x\",\"reasoning_content\":1}]} | field 'messages[1].reasoning_content' must be a string, found a number",
        "no assistant | {\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"}]} | conversation has no assistant message, so there is nothing to learn",
        "deep nesting | [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \"SECRET\" | not valid JSON: the record exceeds the parser's limits (nesting depth 1000, number or string length)",
      })
  void failsWithFileLineAndReasonWithoutEchoingTheRow(String what, String row, String reason)
      throws IOException {
    Path f = write(GOOD + "\n" + row + "\n" + GOOD + "\n");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .as(what)
        .isInstanceOf(BadRecordException.class)
        .hasMessage(f + ":2: " + reason)
        .hasMessageNotContaining("SECRET")
        .satisfies(
            e -> {
              BadRecordException bad = (BadRecordException) e;
              assertThat(bad.file()).isEqualTo(f);
              assertThat(bad.line()).isEqualTo(2);
            });
  }

  /**
   * Fuzz: valid alpaca and chat rows mutated at random (bytes flipped, dropped, inserted, invalid
   * UTF-8, cut short). Every outcome is either the three records or a {@code file:2: reason} error
   * that never quotes the row; never another exception, never another line.
   */
  @Test
  void mutatedRowsEitherParseOrFailAtTheirLineWithoutEchoingThem() throws IOException {
    String[] rows = {
      "{\"instruction\":\"SECRET one\",\"input\":\"SECRET two\",\"output\":\"SECRET three\"}",
      "{\"messages\":[{\"role\":\"system\",\"content\":\"SECRET s\"},"
          + "{\"role\":\"user\",\"content\":\"SECRET u\"},"
          + "{\"role\":\"assistant\",\"content\":\"SECRET a\"}]}"
    };
    byte[] alphabet = "{}[]:,\"\\ \t0123456789-eE.nulltrfas\u00e9".getBytes(StandardCharsets.UTF_8);
    java.util.Random random = new java.util.Random(2026);
    int refused = 0;
    for (int i = 0; i < 400; i++) {
      byte[] bytes = rows[i % rows.length].getBytes(StandardCharsets.UTF_8);
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits && bytes.length > 1; e++) {
        int at = random.nextInt(bytes.length);
        bytes =
            switch (random.nextInt(5)) {
              case 0 -> concat(slice(bytes, 0, at), slice(bytes, at + 1, bytes.length));
              case 1 ->
                  concat(
                      slice(bytes, 0, at),
                      new byte[] {alphabet[random.nextInt(alphabet.length)]},
                      slice(bytes, at, bytes.length));
              case 2 -> {
                bytes[at] = (byte) (0x80 + random.nextInt(0x80)); // a stray UTF-8 byte
                yield bytes;
              }
              case 3 -> slice(bytes, 0, at); // cut short
              default -> {
                bytes[at] = alphabet[random.nextInt(alphabet.length)];
                yield bytes;
              }
            };
      }
      for (int b = 0; b < bytes.length; b++) {
        if (bytes[b] == '\n' || bytes[b] == '\r') {
          bytes[b] = ' '; // one line stays one line
        }
      }
      Path f =
          write(
              concat(
                  (GOOD + "\n").getBytes(StandardCharsets.UTF_8),
                  bytes,
                  ("\n" + GOOD + "\n").getBytes(StandardCharsets.UTF_8)));
      try {
        TokenizedDataset ds = tokenizer.tokenize(f, OnBadRecord.FAIL, 0);
        assertThat(ds.size()).as("case %d", i).isIn(2, 3); // a row cut to blanks is skipped
      } catch (BadRecordException e) {
        refused++;
        assertThat(e.line()).as("case %d: %s", i, e.getMessage()).isEqualTo(2);
        assertThat(e.getMessage()).startsWith(f + ":2: ").doesNotContain("SECRET");
      }
    }
    assertThat(refused).as("most mutations break the record").isGreaterThan(200);
  }

  private static byte[] slice(byte[] bytes, int from, int to) {
    return java.util.Arrays.copyOfRange(bytes, from, to);
  }

  private static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.write(part, 0, part.length);
    }
    return out.toByteArray();
  }

  @Test
  void acceptsALeadingByteOrderMarkAndCrlfLineEnds() throws IOException {
    byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    byte[] body = (GOOD + "\r\n" + GOOD + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[bom.length + body.length];
    System.arraycopy(bom, 0, all, 0, bom.length);
    System.arraycopy(body, 0, all, bom.length, body.length);
    TokenizedDataset ds = tokenizer.tokenize(write(all), OnBadRecord.FAIL, 0);
    assertThat(ds.size()).isEqualTo(2);
    // the CR is not part of the record: both render the same
    assertThat(ds.examples().get(0).inputIds()).isEqualTo(ds.examples().get(1).inputIds());
  }

  @Test
  void acceptsALastLineWithoutNewlineAndBlankLines() throws IOException {
    TokenizedDataset ds =
        tokenizer.tokenize(write("\n\n" + GOOD + "\n   \n" + GOOD), OnBadRecord.FAIL, 0);
    assertThat(ds.size()).isEqualTo(2);
  }

  @Test
  void reportsTheLineNumberCountingBlankLines() throws IOException {
    Path f = write("\n" + GOOD + "\n\n{\"instruction\":\"SECRET\"}\n");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .hasMessage(f + ":4: field 'output' is missing");
  }

  @Test
  void rejectsInvalidUtf8WithTheBytePosition() throws IOException {
    byte[] row = "{\"instruction\":\"SECRET\",\"output\":\"x\"}".getBytes(StandardCharsets.UTF_8);
    row[20] = (byte) 0xC3; // a lead byte followed by an ASCII byte
    byte[] good = (GOOD + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[good.length + row.length + 1];
    System.arraycopy(good, 0, all, 0, good.length);
    System.arraycopy(row, 0, all, good.length, row.length);
    all[all.length - 1] = '\n';
    Path f = write(all);
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .isInstanceOf(BadRecordException.class)
        .hasMessage(f + ":2: invalid UTF-8 at byte 21 of the line");
  }

  @Test
  void refusesAFileOfBlankLinesAsEmpty() throws IOException {
    Path f = write("\n \r\n\n");
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .isInstanceOf(DatasetException.class)
        .hasMessage(f + ": the dataset is empty (no records)");
  }

  @Test
  void refusesAFileHoldingOnlyAByteOrderMark() throws IOException {
    Path f = write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    assertThatThrownBy(() -> tokenizer.tokenize(f, OnBadRecord.FAIL, 0))
        .hasMessage(f + ": the dataset is empty (no records)");
  }

  @Test
  void skipsALineLongerThanTheLimitAndReadsOn() throws IOException {
    Path f = tmp.resolve("long.jsonl");
    long longLine = JsonlLineReader.DEFAULT_MAX_LINE_BYTES + 1000L;
    try (OutputStream out = Files.newOutputStream(f)) {
      out.write((GOOD + "\n").getBytes(StandardCharsets.UTF_8));
      out.write("{\"instruction\":\"SECRET".getBytes(StandardCharsets.UTF_8));
      byte[] block = new byte[1 << 16];
      java.util.Arrays.fill(block, (byte) 'x');
      for (long n = 0; n < longLine; n += block.length) {
        out.write(block);
      }
      out.write("\"}\n".getBytes(StandardCharsets.UTF_8));
      out.write((GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    }
    TokenizedDataset ds = tokenizer.tokenize(f, OnBadRecord.SKIP, 0);
    assertThat(ds.size()).isEqualTo(2);
    assertThat(ds.skippedCount()).isEqualTo(1);
    assertThat(ds.skippedReasons().get(0))
        .startsWith(f + ":2: line is ")
        .endsWith(
            "bytes, longer than the limit of "
                + JsonlLineReader.DEFAULT_MAX_LINE_BYTES
                + " bytes; split the record or shorten it")
        .doesNotContain("SECRET");
  }

  @Test
  void keepsTheFirstFewSkipReasonsButCountsAll() throws IOException {
    StringBuilder sb = new StringBuilder(GOOD).append('\n');
    for (int i = 0; i < 7; i++) {
      sb.append("{\"instruction\":\"SECRET\"}\n");
    }
    Path f = write(sb.toString());
    TokenizedDataset ds = tokenizer.tokenize(f, OnBadRecord.SKIP, 0);
    assertThat(ds.size()).isEqualTo(1);
    assertThat(ds.skippedCount()).isEqualTo(7);
    assertThat(ds.skippedReasons()).hasSize(TokenizedDataset.MAX_REASONS_KEPT);
    assertThat(ds.skippedReasons().get(0)).isEqualTo(f + ":2: field 'output' is missing");
    assertThat(ds.summary(128)).contains("7 bad lines skipped (first: " + f + ":2:");
  }
}
