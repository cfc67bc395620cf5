package dev.lorafleet.worker.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Turns JSONL datasets into {@link TokenizedExample}s for one model: the model's prompt format (its
 * chat template, else {@link DefaultFormatter}), its {@code tokenizer.json}, loss masking of
 * everything but the responses, and truncation at {@code maxSeqLen}.
 *
 * <pre>{@code
 * try (DatasetTokenizer t = DatasetTokenizer.open(modelDir, 2048)) {
 *   TokenizedDataset train = t.tokenize(trainJsonl, OnBadRecord.FAIL, 0);
 * }
 * }</pre>
 *
 * <p>Not thread-safe: use one per thread.
 */
public final class DatasetTokenizer implements AutoCloseable {
  private final Path tokenizerFile;
  private final HuggingFaceTokenizer tokenizer;
  private final PromptFormatter formatter;
  private final TokenizerSettings settings;
  private final int maxSeqLen;
  private final RecordParser parser = new RecordParser();

  private DatasetTokenizer(
      Path tokenizerFile,
      HuggingFaceTokenizer tokenizer,
      PromptFormatter formatter,
      TokenizerSettings settings,
      int maxSeqLen) {
    this.tokenizerFile = tokenizerFile;
    this.tokenizer = tokenizer;
    this.formatter = formatter;
    this.settings = settings;
    this.maxSeqLen = maxSeqLen;
  }

  /**
   * Opens the tokenizer and prompt format of a Hugging Face model directory.
   *
   * @throws DatasetException when {@code tokenizer.json} is missing or unreadable, or the chat
   *     template cannot be read
   */
  public static DatasetTokenizer open(Path modelDir, int maxSeqLen) {
    return open(modelDir, maxSeqLen, Map.of());
  }

  /**
   * Like {@link #open(Path, int)}, with extra variables for the chat template, as keyword arguments
   * to {@code apply_chat_template} would be (for example {@code enable_thinking}).
   */
  public static DatasetTokenizer open(
      Path modelDir, int maxSeqLen, Map<String, ?> chatTemplateVariables) {
    if (maxSeqLen < 2) {
      throw new IllegalArgumentException("maxSeqLen must be at least 2, not " + maxSeqLen);
    }
    TokenizerSettings settings = TokenizerSettings.read(modelDir);
    PromptFormatter formatter = formatterFor(settings, chatTemplateVariables);
    Path file = modelDir.resolve("tokenizer.json");
    return new DatasetTokenizer(file, loadTokenizer(file), formatter, settings, maxSeqLen);
  }

  /** The model's chat template when it has one, else the documented default format. */
  static PromptFormatter formatterFor(TokenizerSettings settings, Map<String, ?> variables) {
    if (settings.chatTemplate() == null) {
      return new DefaultFormatter(settings.bosToken(), settings.eosToken());
    }
    ChatTemplate template =
        JinjaChatTemplate.parse(
            settings.chatTemplate(), settings.chatTemplateSource(), settings, variables);
    return new ChatTemplateFormatter(
        template, "the model's chat template from " + settings.chatTemplateSource());
  }

  private static HuggingFaceTokenizer loadTokenizer(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new DatasetException(
          file
              + ": no tokenizer.json in the model directory (a Hugging Face fast tokenizer is"
              + " needed)");
    }
    try {
      return HuggingFaceTokenizer.newInstance(
          file,
          Map.of(
              "addSpecialTokens", "false",
              "truncation", "false",
              "padding", "false",
              "maxLength", "-1"));
    } catch (NoSuchFileException e) {
      throw new DatasetException(file + ": tokenizer file not found", e);
    } catch (IOException | RuntimeException e) {
      throw new DatasetException(
          file + ": cannot load the tokenizer: " + firstLine(e.getMessage()), e);
    }
  }

  /**
   * Reads, formats and tokenizes every record of a JSONL file.
   *
   * @param firstIndex the global index of the file's first example (see {@link
   *     TokenizedExample#index()})
   * @throws BadRecordException for the first bad line under {@link OnBadRecord#FAIL}
   * @throws DatasetException when the file cannot be read, is empty or has no usable record
   */
  public TokenizedDataset tokenize(Path jsonl, OnBadRecord policy, int firstIndex) {
    List<TokenizedExample> examples = new ArrayList<>();
    List<String> reasons = new ArrayList<>();
    int skipped = 0;
    int truncated = 0;
    int noLoss = 0;
    long tokens = 0;
    try (JsonlLineReader reader = new JsonlLineReader(jsonl)) {
      for (JsonlLineReader.Line line = reader.next(); line != null; line = reader.next()) {
        String reason;
        if (line instanceof JsonlLineReader.Unreadable u) {
          reason = u.reason();
        } else {
          reason = null;
          String text = ((JsonlLineReader.Text) line).text();
          try {
            Tokenized t = tokenize(parser.parse(text), firstIndex + examples.size());
            examples.add(t.example());
            tokens += t.example().inputIds().length;
            truncated += t.truncated() ? 1 : 0;
            noLoss += t.example().lossTokens() == 0 ? 1 : 0;
          } catch (RecordParser.Invalid e) {
            reason = e.getMessage();
          } catch (TemplateRenderException e) {
            reason = "the chat template refused the record: " + e.getMessage();
          }
        }
        if (reason != null) {
          BadRecordException bad = new BadRecordException(jsonl, line.number(), reason);
          if (policy == OnBadRecord.FAIL) {
            throw bad;
          }
          skipped++;
          if (reasons.size() < TokenizedDataset.MAX_REASONS_KEPT) {
            reasons.add(bad.getMessage());
          }
        }
      }
    } catch (NoSuchFileException e) {
      throw new DatasetException(jsonl + ": dataset file not found", e);
    } catch (IOException e) {
      throw new DatasetException(jsonl + ": cannot read the dataset: " + e.getMessage(), e);
    }
    if (examples.isEmpty()) {
      throw new DatasetException(
          skipped == 0
              ? jsonl + ": the dataset is empty (no records)"
              : jsonl
                  + ": no usable records, all "
                  + skipped
                  + " were bad (first: "
                  + reasons.get(0)
                  + ")");
    }
    return new TokenizedDataset(jsonl, examples, truncated, noLoss, skipped, reasons, tokens);
  }

  /** One example and whether it was cut at {@code maxSeqLen}. */
  public record Tokenized(TokenizedExample example, boolean truncated) {}

  /** Formats and tokenizes one record; labels are -100 outside the responses. */
  public Tokenized tokenize(DatasetRecord record, int index) {
    RenderedText rendered = formatter.render(record);
    Encoding enc = tokenizer.encode(rendered.text(), formatter.addSpecialTokens(), false);
    long[] ids = enc.getIds();
    CharSpan[] spans = enc.getCharTokenSpans();
    // Special tokens come either from the template (BOS rendered as text, as transformers'
    // apply_chat_template expects) or from the tokenizer's post-processor, never from both, so
    // BOS is never doubled.
    int n = ids.length;
    int length = Math.min(n, maxSeqLen);
    int[] inputIds = new int[length];
    int[] labels = new int[length];
    List<RenderedText.Span> trained = rendered.trained();
    int[] utf16 = codePointToCharIndex(rendered.text());
    for (int t = 0; t < length; t++) {
      inputIds[t] = Math.toIntExact(ids[t]);
      CharSpan span = spans[t];
      boolean inResponse = false;
      if (span != null && span.getEnd() > span.getStart()) {
        int start = utf16 == null ? span.getStart() : utf16[span.getStart()];
        for (RenderedText.Span s : trained) {
          if (s.contains(start)) {
            inResponse = true;
            break;
          }
        }
      }
      labels[t] = inResponse ? inputIds[t] : TokenizedExample.IGNORE_INDEX;
    }
    return new Tokenized(new TokenizedExample(index, inputIds, labels), n > maxSeqLen);
  }

  /**
   * The tokenizer reports offsets in code points; Java strings index UTF-16 units. Returns the map
   * from one to the other, or {@code null} when they agree (no characters outside the BMP).
   */
  private static int[] codePointToCharIndex(String text) {
    int cps = text.codePointCount(0, text.length());
    if (cps == text.length()) {
      return null;
    }
    int[] map = new int[cps + 1];
    int c = 0;
    for (int i = 0; i < cps; i++) {
      map[i] = c;
      c += Character.charCount(text.codePointAt(c));
    }
    map[cps] = c;
    return map;
  }

  /** The rendered text of a record, for tests, logs and {@code eval --json}. */
  public RenderedText render(DatasetRecord record) {
    return formatter.render(record);
  }

  /** Token ids of a text, without special tokens added. */
  public int[] encode(String text) {
    return Arrays.stream(tokenizer.encode(text, false, false).getIds())
        .mapToInt(Math::toIntExact)
        .toArray();
  }

  /** Text of token ids, special tokens included. */
  public String decode(int[] ids) {
    return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), false);
  }

  public int maxSeqLen() {
    return maxSeqLen;
  }

  public TokenizerSettings settings() {
    return settings;
  }

  /** Which prompt format is in use, for logs. */
  public String describeFormat() {
    return formatter.describe();
  }

  public Path tokenizerFile() {
    return tokenizerFile;
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
