package dev.lorafleet.worker.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a small deterministic byte-level BPE tokenizer ({@code tokenizer.json}, the GPT-2 / Llama
 * 3 kind) and its {@code tokenizer_config.json} into a model directory, for tests and the demo's
 * tiny model. Ids 0–3 are the special tokens {@code <pad>}, {@code <s>} (BOS, added by the
 * post-processor), {@code <|im_start|>} and {@code <|im_end|>} (EOS and end of turn); the 256 byte
 * symbols follow, then merges learned from the demo data up to the vocabulary size (at most 512,
 * the tiny models' {@code vocab_size}). Any text encodes, since every byte has a token.
 */
public final class TinyTokenizerWriter {
  public static final String PAD = "<pad>";
  public static final String BOS = "<s>";
  public static final String IM_START = "<|im_start|>";
  public static final String IM_END = "<|im_end|>";
  public static final List<String> SPECIAL_TOKENS = List.of(PAD, BOS, IM_START, IM_END);

  /** A ChatML template in the Qwen style, opening with BOS. */
  public static final String CHAT_TEMPLATE =
      "{{ bos_token }}{% for message in messages %}"
          + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
          + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  public static final int DEFAULT_VOCAB_SIZE = 512;

  /** The pre-tokenizer split of Hugging Face's ByteLevel pre-tokenizer (GPT-2's pattern). */
  private static final Pattern SPLIT =
      Pattern.compile(
          "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

  private final int vocabSize;
  private final boolean withChatTemplate;

  /** The demo's tokenizer: 512 tokens and {@link #CHAT_TEMPLATE}. */
  public TinyTokenizerWriter() {
    this(DEFAULT_VOCAB_SIZE, true);
  }

  /**
   * @param vocabSize at most this many tokens (merges stop early when the text has no more pairs)
   * @param withChatTemplate put {@link #CHAT_TEMPLATE} into {@code tokenizer_config.json}
   */
  public TinyTokenizerWriter(int vocabSize, boolean withChatTemplate) {
    if (vocabSize < SPECIAL_TOKENS.size() + 256) {
      throw new IllegalArgumentException(
          "a byte-level tokenizer needs at least " + (SPECIAL_TOKENS.size() + 256) + " tokens");
    }
    this.vocabSize = vocabSize;
    this.withChatTemplate = withChatTemplate;
  }

  /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Map<String, Integer> vocab = new LinkedHashMap<>();
    for (String s : SPECIAL_TOKENS) {
      vocab.put(s, vocab.size());
    }
    char[] byteChars = byteToUnicode();
    for (char c : byteChars) {
      vocab.put(String.valueOf(c), vocab.size());
    }
    List<String> merges = learnMerges(corpus(), byteChars, vocabSize - vocab.size());
    for (String merge : merges) {
      vocab.putIfAbsent(merge.replace(" ", ""), vocab.size());
    }

    Map<String, Object> tokenizer = new LinkedHashMap<>();
    tokenizer.put("version", "1.0");
    tokenizer.put("truncation", null);
    tokenizer.put("padding", null);
    List<Object> added = new ArrayList<>();
    for (String s : SPECIAL_TOKENS) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("id", vocab.get(s));
      t.put("content", s);
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
      added.add(t);
    }
    tokenizer.put("added_tokens", added);
    tokenizer.put("normalizer", null);
    tokenizer.put("pre_tokenizer", byteLevel(false, true));
    Map<String, Object> bosTemplate = new LinkedHashMap<>();
    bosTemplate.put("type", "TemplateProcessing");
    bosTemplate.put(
        "single",
        List.of(
            Map.of("SpecialToken", Map.of("id", BOS, "type_id", 0)),
            Map.of("Sequence", Map.of("id", "A", "type_id", 0))));
    bosTemplate.put(
        "pair",
        List.of(
            Map.of("SpecialToken", Map.of("id", BOS, "type_id", 0)),
            Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
            Map.of("SpecialToken", Map.of("id", BOS, "type_id", 1)),
            Map.of("Sequence", Map.of("id", "B", "type_id", 1))));
    bosTemplate.put(
        "special_tokens",
        Map.of(BOS, Map.of("id", BOS, "ids", List.of(vocab.get(BOS)), "tokens", List.of(BOS))));
    Map<String, Object> post = new LinkedHashMap<>();
    post.put("type", "Sequence");
    post.put("processors", List.of(byteLevel(true, false), bosTemplate));
    tokenizer.put("post_processor", post);
    tokenizer.put("decoder", byteLevel(true, true));
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("type", "BPE");
    model.put("dropout", null);
    model.put("unk_token", null);
    model.put("continuing_subword_prefix", null);
    model.put("end_of_word_suffix", null);
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.put("ignore_merges", false);
    model.put("vocab", vocab);
    model.put("merges", merges);
    tokenizer.put("model", model);
    Files.writeString(
        dir.resolve("tokenizer.json"), json.writeValueAsString(tokenizer), StandardCharsets.UTF_8);

    Map<String, Object> config = new LinkedHashMap<>();
    config.put("tokenizer_class", "PreTrainedTokenizerFast");
    config.put("bos_token", BOS);
    config.put("eos_token", IM_END);
    config.put("pad_token", PAD);
    config.put("model_max_length", 2048);
    config.put("clean_up_tokenization_spaces", false);
    if (withChatTemplate) {
      config.put("chat_template", CHAT_TEMPLATE);
    }
    Files.writeString(
        dir.resolve(TokenizerSettings.CONFIG_FILE),
        json.writeValueAsString(config),
        StandardCharsets.UTF_8);
  }

  private static Map<String, Object> byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", "ByteLevel");
    m.put("add_prefix_space", addPrefixSpace);
    m.put("trim_offsets", trimOffsets);
    m.put("use_regex", true);
    return m;
  }

  /** The text merges are learned from: demo records as both prompt formats render them. */
  private static List<String> corpus() {
    List<String> texts = new ArrayList<>();
    for (DemoDataWriter.Example e : new DemoDataWriter().sample(400)) {
      texts.add("user\n" + e.instruction() + "\n" + e.input() + "\nassistant\n" + e.output());
      texts.add(
          "### Instruction:\n"
              + e.instruction()
              + "\n\n### Input:\n"
              + e.input()
              + "\n\n### Response:\n"
              + e.output());
    }
    texts.add("### System:\n### User:\n### Assistant:\nsystem\nYou are a helpful assistant.");
    return texts;
  }

  /**
   * Plain BPE training: split like the pre-tokenizer, then repeatedly merge the most frequent
   * adjacent pair (ties to the smaller pair, so the result is the same on every machine).
   */
  static List<String> learnMerges(List<String> texts, char[] byteChars, int maxMerges) {
    Map<String, Integer> wordCounts = new HashMap<>();
    for (String text : texts) {
      Matcher m = SPLIT.matcher(text);
      while (m.find()) {
        StringBuilder sb = new StringBuilder();
        for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
          sb.append(byteChars[b & 0xff]);
        }
        wordCounts.merge(sb.toString(), 1, Integer::sum);
      }
    }
    List<List<String>> words = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    wordCounts.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(
            e -> {
              List<String> symbols = new ArrayList<>();
              e.getKey().codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
              words.add(symbols);
              counts.add(e.getValue());
            });
    List<String> merges = new ArrayList<>();
    while (merges.size() < maxMerges) {
      Map<String, Integer> pairs = new HashMap<>();
      for (int w = 0; w < words.size(); w++) {
        List<String> s = words.get(w);
        for (int i = 0; i + 1 < s.size(); i++) {
          pairs.merge(s.get(i) + " " + s.get(i + 1), counts.get(w), Integer::sum);
        }
      }
      String best = null;
      int bestCount = 1;
      for (Map.Entry<String, Integer> e : pairs.entrySet()) {
        int c = e.getValue();
        if (c > bestCount || (c == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
          best = e.getKey();
          bestCount = c;
        }
      }
      if (best == null) {
        break;
      }
      merges.add(best);
      int space = best.indexOf(' ');
      String a = best.substring(0, space);
      String b = best.substring(space + 1);
      for (List<String> s : words) {
        for (int i = 0; i + 1 < s.size(); i++) {
          if (s.get(i).equals(a) && s.get(i + 1).equals(b)) {
            s.set(i, a + b);
            s.remove(i + 1);
          }
        }
      }
    }
    return merges;
  }

  /**
   * GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes stand for
   * themselves, the others are shifted above 255.
   */
  static char[] byteToUnicode() {
    char[] map = new char[256];
    int next = 256;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      map[b] = printable ? (char) b : (char) next++;
    }
    return map;
  }
}
