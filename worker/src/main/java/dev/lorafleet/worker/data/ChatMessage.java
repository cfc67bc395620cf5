package dev.lorafleet.worker.data;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the text
 * @param reasoningContent an assistant's separate reasoning (Qwen3's {@code reasoning_content}), or
 *     {@code null}
 */
public record ChatMessage(String role, String content, String reasoningContent) {
  public static final String SYSTEM = "system";
  public static final String USER = "user";
  public static final String ASSISTANT = "assistant";

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  public ChatMessage(String role, String content) {
    this(role, content, null);
  }

  public static ChatMessage system(String content) {
    return new ChatMessage(SYSTEM, content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage(USER, content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage(ASSISTANT, content);
  }

  public boolean isAssistant() {
    return ASSISTANT.equals(role);
  }

  /** The message as a chat template sees it: a mapping with the Hugging Face key names. */
  public Map<String, Object> toTemplateValue() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    if (reasoningContent != null) {
      m.put("reasoning_content", reasoningContent);
    }
    return m;
  }
}
