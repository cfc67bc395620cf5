package dev.lorafleet.worker.data;

import java.util.List;

/** A chat template: renders a conversation as text, as {@code apply_chat_template} does. */
@FunctionalInterface
public interface ChatTemplate {
  /**
   * @param addGenerationPrompt append the header that opens the assistant's next turn
   * @throws TemplateRenderException when the template refuses the conversation
   */
  String render(List<ChatMessage> messages, boolean addGenerationPrompt);
}
