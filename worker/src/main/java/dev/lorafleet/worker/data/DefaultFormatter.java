package dev.lorafleet.worker.data;

import java.util.ArrayList;
import java.util.List;

/**
 * The prompt format used when the model directory has no chat template (neither {@code
 * chat_template} in {@code tokenizer_config.json} nor {@code chat_template.jinja}).
 *
 * <p>Alpaca records render Alpaca-style, the system line and the input block only when present:
 *
 * <pre>
 * {bos}{system}\n\n
 * ### Instruction:\n{instruction}\n\n
 * ### Input:\n{input}\n\n
 * ### Response:\n{output}{eos}
 * </pre>
 *
 * <p>Chat records render each message under a role header, separated by a blank line, every
 * assistant message closed by the EOS token:
 *
 * <pre>
 * {bos}### System:\n{content}\n\n### User:\n{content}\n\n### Assistant:\n{content}{eos}\n\n…
 * </pre>
 *
 * <p>Loss falls on the output (each assistant content) and the EOS token after it. {@code bos} and
 * {@code eos} are the tokens named in {@code tokenizer_config.json}; without a BOS there, the
 * tokenizer's own post-processor adds whatever the model expects.
 */
public final class DefaultFormatter implements PromptFormatter {
  private final String bos;
  private final String eos;

  /**
   * @param bos the BOS token's text, or {@code null}
   * @param eos the EOS token's text, or {@code null}
   */
  public DefaultFormatter(String bos, String eos) {
    this.bos = bos;
    this.eos = eos;
  }

  @Override
  public RenderedText render(DatasetRecord record) {
    if (record instanceof DatasetRecord.Alpaca a) {
      return alpaca(a);
    }
    return chat((DatasetRecord.Chat) record);
  }

  private RenderedText alpaca(DatasetRecord.Alpaca a) {
    StringBuilder sb = new StringBuilder();
    appendIfPresent(sb, bos);
    if (a.system() != null && !a.system().isEmpty()) {
      sb.append(a.system()).append("\n\n");
    }
    sb.append("### Instruction:\n").append(a.instruction()).append("\n\n");
    if (a.input() != null && !a.input().isEmpty()) {
      sb.append("### Input:\n").append(a.input()).append("\n\n");
    }
    sb.append("### Response:\n");
    int start = sb.length();
    sb.append(a.output());
    appendIfPresent(sb, eos);
    return new RenderedText(sb.toString(), List.of(new RenderedText.Span(start, sb.length())));
  }

  private RenderedText chat(DatasetRecord.Chat c) {
    StringBuilder sb = new StringBuilder();
    appendIfPresent(sb, bos);
    List<RenderedText.Span> spans = new ArrayList<>();
    List<ChatMessage> messages = c.messages();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (i > 0) {
        sb.append("\n\n");
      }
      sb.append("### ").append(header(m.role())).append(":\n");
      if (m.isAssistant()) {
        int start = sb.length();
        sb.append(m.content());
        appendIfPresent(sb, eos);
        spans.add(new RenderedText.Span(start, sb.length()));
      } else {
        sb.append(m.content());
      }
    }
    return new RenderedText(sb.toString(), spans);
  }

  private static String header(String role) {
    return switch (role) {
      case ChatMessage.SYSTEM -> "System";
      case ChatMessage.USER -> "User";
      case ChatMessage.ASSISTANT -> "Assistant";
      default -> role;
    };
  }

  private static void appendIfPresent(StringBuilder sb, String s) {
    if (s != null) {
      sb.append(s);
    }
  }

  @Override
  public boolean addSpecialTokens() {
    return bos == null;
  }

  @Override
  public String describe() {
    return "the built-in default template (the model directory has no chat template)";
  }
}
