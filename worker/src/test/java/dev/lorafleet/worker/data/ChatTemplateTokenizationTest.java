package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorafleet.common.spec.JobSpec.OnBadRecord;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Formatting and masking with chat templates: the tiny tokenizer's own ChatML template and the real
 * Llama 3 / Qwen2.5 / Qwen3 templates (tokenized with the tiny byte-level tokenizer, which encodes
 * any text).
 */
class ChatTemplateTokenizationTest {
  @TempDir Path dir;

  private static final DatasetRecord.Chat THINKING_CHAT =
      new DatasetRecord.Chat(
          List.of(
              ChatMessage.user("What is 2+2?"),
              ChatMessage.assistant("<think>\nSimple arithmetic.\n</think>\n\nThe answer is 4."),
              ChatMessage.user("And 3+3?"),
              ChatMessage.assistant("<think>\nAgain simple.\n</think>\n\nThe answer is 6.")));

  private static final DatasetRecord.Chat TWO_TURNS =
      new DatasetRecord.Chat(
          List.of(
              ChatMessage.system("You reverse words."),
              ChatMessage.user("red fox"),
              ChatMessage.assistant("fox red"),
              ChatMessage.user("blue cat"),
              ChatMessage.assistant("cat blue")));

  /** A model directory with the tiny tokenizer and the given template (or the tiny one). */
  private Path model(String template, String bos, String eos) throws IOException {
    new TinyTokenizerWriter().write(dir);
    if (template != null) {
      ObjectMapper json = new ObjectMapper();
      ObjectNode config = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
      config.put("chat_template", template);
      if (bos == null) {
        config.putNull("bos_token");
      } else {
        config.put("bos_token", bos);
      }
      config.put("eos_token", eos);
      Files.writeString(dir.resolve("tokenizer_config.json"), json.writeValueAsString(config));
    }
    return dir;
  }

  private static String realTemplate(String name) throws IOException {
    try (InputStream in =
        ChatTemplateTokenizationTest.class.getResourceAsStream(
            "/chat-templates/templates/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String labelled(DatasetTokenizer t, TokenizedExample e) {
    return t.decode(
        Arrays.stream(e.labels()).filter(l -> l != TokenizedExample.IGNORE_INDEX).toArray());
  }

  @Test
  void usesTheTinyChatTemplateAndLabelsTheResponseWithItsEndOfTurn() throws IOException {
    try (DatasetTokenizer t = DatasetTokenizer.open(model(null, null, null), 256)) {
      assertThat(t.describeFormat()).contains("chat template");
      TokenizedExample e =
          t.tokenize(new DatasetRecord.Alpaca(null, "Reverse.", "red fox", "fox red"), 0).example();
      assertThat(t.decode(e.inputIds()))
          .isEqualTo(
              "<s><|im_start|>user\nReverse.\nred fox<|im_end|>\n<|im_start|>assistant\n"
                  + "fox red<|im_end|>\n");
      assertThat(labelled(t, e)).isEqualTo("fox red<|im_end|>\n");
      int bos = t.encode(TinyTokenizerWriter.BOS)[0];
      assertThat(Arrays.stream(e.inputIds()).filter(id -> id == bos).count())
          .as("BOS rendered by the template and not added again by the tokenizer")
          .isEqualTo(1);
    }
  }

  @Test
  void labelsEveryAssistantTurnWithLlama3() throws IOException {
    try (DatasetTokenizer t =
        DatasetTokenizer.open(
            model(realTemplate("llama3.jinja"), "<|begin_of_text|>", "<|eot_id|>"), 512)) {
      TokenizedExample e = t.tokenize(TWO_TURNS, 0).example();
      assertThat(labelled(t, e)).isEqualTo("fox red<|eot_id|>cat blue<|eot_id|>");
      assertThat(t.decode(e.inputIds())).startsWith("<|begin_of_text|><|start_header_id|>system");
    }
  }

  @Test
  void labelsEveryAssistantTurnWithLlama31() throws IOException {
    try (DatasetTokenizer t =
        DatasetTokenizer.open(
            model(realTemplate("llama3.1.jinja"), "<|begin_of_text|>", "<|eot_id|>"), 512)) {
      RenderedText r = t.render(TWO_TURNS);
      assertThat(r.text())
          .contains("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024");
      assertThat(r.trainedText()).isEqualTo("fox red<|eot_id|>cat blue<|eot_id|>");
    }
  }

  @Test
  void labelsEveryAssistantTurnWithQwen25() throws IOException {
    try (DatasetTokenizer t =
        DatasetTokenizer.open(model(realTemplate("qwen2.5.jinja"), null, "<|im_end|>"), 512)) {
      TokenizedExample e = t.tokenize(TWO_TURNS, 0).example();
      assertThat(labelled(t, e)).isEqualTo("fox red<|im_end|>\ncat blue<|im_end|>\n");
    }
  }

  @Test
  void trainsOnlyTheLastQwen3TurnWithItsReasoning() throws IOException {
    try (DatasetTokenizer t =
        DatasetTokenizer.open(model(realTemplate("qwen3.jinja"), null, "<|im_end|>"), 512)) {
      RenderedText r = t.render(THINKING_CHAT);
      // Qwen3 drops the reasoning of turns before the last user query; the first turn is trained
      // as rendered in context, the last one with its reasoning
      assertThat(r.text())
          .isEqualTo(
              "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
                  + "The answer is 4.<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n"
                  + "<|im_start|>assistant\n<think>\nAgain simple.\n</think>\n\n"
                  + "The answer is 6.<|im_end|>\n");
      assertThat(r.trainedText())
          .isEqualTo(
              "The answer is 4.<|im_end|>\n<think>\nAgain simple.\n</think>\n\n"
                  + "The answer is 6.<|im_end|>\n");
      TokenizedExample e = t.tokenize(THINKING_CHAT, 0).example();
      assertThat(labelled(t, e)).isEqualTo(r.trainedText());
    }
  }

  @Test
  void passesTemplateVariablesSuchAsEnableThinking() throws IOException {
    DatasetRecord.Chat chat =
        new DatasetRecord.Chat(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello")));
    Path m = model(realTemplate("qwen3.jinja"), null, "<|im_end|>");
    try (DatasetTokenizer thinking = DatasetTokenizer.open(m, 512);
        DatasetTokenizer direct = DatasetTokenizer.open(m, 512, Map.of("enable_thinking", false))) {
      // the empty think block is the model's to produce when thinking is on, the prompt's when off
      assertThat(thinking.render(chat).trainedText())
          .isEqualTo("<think>\n\n</think>\n\nHello<|im_end|>\n");
      assertThat(direct.render(chat).trainedText()).isEqualTo("Hello<|im_end|>\n");
    }
  }

  @Test
  void takesReasoningContentFromItsOwnField() throws IOException {
    DatasetRecord.Chat chat =
        new DatasetRecord.Chat(
            List.of(
                ChatMessage.user("2+2?"),
                new ChatMessage(ChatMessage.ASSISTANT, "4", "Add two and two.")));
    try (DatasetTokenizer t =
        DatasetTokenizer.open(model(realTemplate("qwen3.jinja"), null, "<|im_end|>"), 512)) {
      assertThat(t.render(chat).trainedText())
          .isEqualTo("<think>\nAdd two and two.\n</think>\n\n4<|im_end|>\n");
    }
  }

  @Test
  void skipsRecordsTheTemplateRefusesWithItsMessage() throws IOException {
    String strict =
        "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
    Path jsonl = dir.resolve("chat.jsonl");
    Files.writeString(
        jsonl,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n"
            + "{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"},{\"role\":\"user\",\"content\":\"y\"}]}\n");
    try (DatasetTokenizer t = DatasetTokenizer.open(model(strict, null, "</s>"), 128)) {
      TokenizedDataset ds = t.tokenize(jsonl, OnBadRecord.SKIP, 0);
      assertThat(ds.size()).isEqualTo(1);
      assertThat(ds.skippedReasons())
          .containsExactly(
              jsonl
                  + ":2: the chat template refused the record: Conversation roles must alternate"
                  + " user/assistant/user/assistant/...");
      assertThatThrownBy(() -> t.tokenize(jsonl, OnBadRecord.FAIL, 0))
          .isInstanceOf(BadRecordException.class)
          .hasMessageStartingWith(jsonl + ":2: the chat template refused the record");
    }
  }

  @Test
  void namesTheTemplateThatDoesNotParse() throws IOException {
    Path m = model("{% for m in messages %}{{ m.content }}", null, "</s>");
    assertThatThrownBy(() -> DatasetTokenizer.open(m, 128))
        .isInstanceOf(DatasetException.class)
        .hasMessageStartingWith(
            m.resolve("tokenizer_config.json") + " (chat_template): cannot parse")
        .hasMessageContaining("endfor");
  }
}
