package dev.lorafleet.worker.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Formats records with the model's own chat template and finds the assistant turns in the result.
 *
 * <p>The text is the whole conversation rendered once, exactly as {@code apply_chat_template} with
 * {@code add_generation_prompt=False} renders it. Assistant turn {@code i} is located by rendering
 * the conversation up to it with the generation prompt (where the turn starts) and up to and
 * including it without (where it ends): everything between, the content and the template's
 * end-of-turn marker, carries loss, as LLaMA-Factory trains every assistant turn. Some templates
 * render earlier turns differently once later ones follow (Qwen3 drops the reasoning of turns
 * before the last user query); for such a turn the end is found as the longest tail of its
 * stand-alone rendering that occurs in the whole text after the turn's start.
 *
 * <p>The tokenizer adds no special tokens of its own: the template renders BOS where the model
 * wants one, as {@code apply_chat_template(tokenize=True)} does.
 */
public final class ChatTemplateFormatter implements PromptFormatter {
  private final ChatTemplate template;
  private final String description;

  public ChatTemplateFormatter(ChatTemplate template, String description) {
    this.template = template;
    this.description = description;
  }

  @Override
  public RenderedText render(DatasetRecord record) {
    List<ChatMessage> messages = record.messages();
    String full = template.render(messages, false);
    List<String> prompts = new ArrayList<>();
    List<String> turns = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      if (messages.get(i).isAssistant()) {
        prompts.add(template.render(messages.subList(0, i), true));
        turns.add(template.render(messages.subList(0, i + 1), false));
      }
    }
    List<RenderedText.Span> spans = new ArrayList<>();
    int cursor = 0;
    for (int k = 0; k < prompts.size(); k++) {
      int limit = full.length();
      if (k + 1 < prompts.size() && full.startsWith(prompts.get(k + 1))) {
        limit = prompts.get(k + 1).length();
      }
      RenderedText.Span span = locate(full, prompts.get(k), turns.get(k), cursor, limit);
      if (span != null && span.end() > span.start()) {
        spans.add(span);
        cursor = span.end();
      }
    }
    return new RenderedText(full, spans);
  }

  /**
   * Where the turn rendered between {@code prompt} and {@code upTo} lies in {@code full}, looking
   * only at {@code [cursor, limit)}; null when nothing of it can be found.
   */
  static RenderedText.Span locate(String full, String prompt, String upTo, int cursor, int limit) {
    boolean promptIsPrefix = full.startsWith(prompt) && prompt.length() >= cursor;
    if (promptIsPrefix
        && upTo.startsWith(prompt)
        && full.startsWith(upTo)
        && upTo.length() <= limit) {
      return new RenderedText.Span(prompt.length(), upTo.length());
    }
    // The turn reads differently in context: train on the longest tail of it found there.
    int start = promptIsPrefix ? prompt.length() : cursor;
    String turn = upTo.startsWith(prompt) ? upTo.substring(prompt.length()) : upTo;
    for (int from = 0; from < turn.length(); from++) {
      String tail = turn.substring(from);
      int at = full.indexOf(tail, start);
      if (at >= 0 && at + tail.length() <= limit) {
        return new RenderedText.Span(promptIsPrefix ? start : at, at + tail.length());
      }
    }
    return null;
  }

  @Override
  public boolean addSpecialTokens() {
    return false;
  }

  @Override
  public String describe() {
    return description;
  }
}
