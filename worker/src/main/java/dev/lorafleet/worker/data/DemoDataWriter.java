package dev.lorafleet.worker.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Writes the demo's instruction data: a learnable toy task (reverse the order of a few words) with
 * a held-out eval split, and a "general" task (repeat the words) whose eval set shows whether the
 * old skill decays while the new one is learned. Alpaca form, deterministic for a given seed, all
 * words from a small fixed vocabulary so that the tiny tokenizer covers them in one token each.
 */
public final class DemoDataWriter {
  /** The words every demo example is made of. */
  public static final List<String> WORDS =
      List.of(
          "red", "blue", "green", "black", "white", "gold", "cat", "dog", "fox", "owl", "bee",
          "cow", "sun", "moon", "star", "rain", "snow", "wind", "tree", "leaf", "rock", "sand",
          "lake", "hill", "one", "two", "three", "four", "five", "six", "big", "small", "hot",
          "cold", "fast", "slow", "up", "down", "left", "right", "bird", "fish", "ship", "car",
          "book", "pen", "cup", "box");

  public static final String REVERSE_INSTRUCTION = "Reverse the order of the words.";
  public static final String REPEAT_INSTRUCTION = "Repeat the words.";

  /** The files written, in alpaca JSONL form. */
  public record DemoDataset(Path train, Path eval, Path general, Path generalEval) {}

  /** One alpaca example. */
  public record Example(String instruction, String input, String output) {}

  private final int trainSize;
  private final int evalSize;
  private final int generalSize;
  private final int generalEvalSize;
  private final long seed;

  /** The demo's sizes: 384 training and 64 eval examples, 96 + 32 general ones. */
  public DemoDataWriter() {
    this(384, 64, 96, 32, 42L);
  }

  public DemoDataWriter(
      int trainSize, int evalSize, int generalSize, int generalEvalSize, long seed) {
    this.trainSize = trainSize;
    this.evalSize = evalSize;
    this.generalSize = generalSize;
    this.generalEvalSize = generalEvalSize;
    this.seed = seed;
  }

  /** Writes {@code train.jsonl}, {@code eval.jsonl}, {@code general.jsonl} and its eval set. */
  public DemoDataset write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<List<String>> reverse = distinctWordLists(trainSize + evalSize, seed);
    List<List<String>> repeat = distinctWordLists(generalSize + generalEvalSize, seed + 1);
    DemoDataset files =
        new DemoDataset(
            dir.resolve("train.jsonl"),
            dir.resolve("eval.jsonl"),
            dir.resolve("general.jsonl"),
            dir.resolve("general-eval.jsonl"));
    writeJsonl(files.train(), reverseExamples(reverse.subList(0, trainSize)));
    writeJsonl(files.eval(), reverseExamples(reverse.subList(trainSize, reverse.size())));
    writeJsonl(files.general(), repeatExamples(repeat.subList(0, generalSize)));
    writeJsonl(files.generalEval(), repeatExamples(repeat.subList(generalSize, repeat.size())));
    return files;
  }

  /** A sample of every kind of example, used as the tiny tokenizer's training text. */
  public List<Example> sample(int n) {
    List<Example> out = new ArrayList<>();
    List<List<String>> lists = distinctWordLists(n, seed);
    out.addAll(reverseExamples(lists.subList(0, n / 2)));
    out.addAll(repeatExamples(lists.subList(n / 2, n)));
    return out;
  }

  private static List<Example> reverseExamples(List<List<String>> lists) {
    List<Example> out = new ArrayList<>(lists.size());
    for (List<String> words : lists) {
      List<String> reversed = new ArrayList<>(words);
      Collections.reverse(reversed);
      out.add(
          new Example(REVERSE_INSTRUCTION, String.join(" ", words), String.join(" ", reversed)));
    }
    return out;
  }

  private static List<Example> repeatExamples(List<List<String>> lists) {
    List<Example> out = new ArrayList<>(lists.size());
    for (List<String> words : lists) {
      String text = String.join(" ", words);
      out.add(new Example(REPEAT_INSTRUCTION, text, text));
    }
    return out;
  }

  /** {@code n} different lists of 3 to 6 words; {@link Random} is specified, so this is stable. */
  private static List<List<String>> distinctWordLists(int n, long seed) {
    Random random = new Random(seed);
    Set<List<String>> seen = new LinkedHashSet<>();
    while (seen.size() < n) {
      int len = 3 + random.nextInt(4);
      List<String> words = new ArrayList<>(len);
      for (int i = 0; i < len; i++) {
        words.add(WORDS.get(random.nextInt(WORDS.size())));
      }
      seen.add(List.copyOf(words));
    }
    return new ArrayList<>(seen);
  }

  private static void writeJsonl(Path file, List<Example> examples) throws IOException {
    ObjectMapper json = new ObjectMapper();
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Example e : examples) {
        ObjectNode node = json.createObjectNode();
        node.put("instruction", e.instruction());
        node.put("input", e.input());
        node.put("output", e.output());
        w.write(json.writeValueAsString(node));
        w.write('\n');
      }
    }
  }
}
