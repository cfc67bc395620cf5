package dev.lorafleet.worker.data;

import java.util.ArrayList;
import java.util.List;

/** One parsed dataset line, in one of the two supported forms. */
public sealed interface DatasetRecord {

  /** The record as a conversation, the form chat templates take. */
  List<ChatMessage> messages();

  /**
   * Alpaca form: {@code {"instruction", "input", "output", "system"?}}. As a conversation it is an
   * optional system message, a user message holding the instruction and (after a newline) the input
   * when there is one, and the assistant's output, as LLaMA-Factory converts it.
   */
  record Alpaca(String system, String instruction, String input, String output)
      implements DatasetRecord {
    @Override
    public List<ChatMessage> messages() {
      List<ChatMessage> m = new ArrayList<>(3);
      if (system != null && !system.isEmpty()) {
        m.add(ChatMessage.system(system));
      }
      String query = input == null || input.isEmpty() ? instruction : instruction + "\n" + input;
      m.add(ChatMessage.user(query));
      m.add(ChatMessage.assistant(output));
      return List.copyOf(m);
    }
  }

  /** Chat form: {@code {"messages": [{"role", "content"}, …]}}. */
  record Chat(List<ChatMessage> messages) implements DatasetRecord {
    public Chat {
      messages = List.copyOf(messages);
    }
  }
}
