package dev.lorafleet.worker.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns one JSONL line into a {@link DatasetRecord}, or says why it cannot. Reasons name the field
 * and the problem but never quote the line's content.
 */
final class RecordParser {
  private static final Set<String> ROLES =
      Set.of(ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT);

  private final ObjectMapper json =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Thrown with a reason that is safe to show (no record content). */
  static final class Invalid extends Exception {
    Invalid(String reason) {
      super(reason, null, false, false);
    }
  }

  DatasetRecord parse(String line) throws Invalid {
    JsonNode node;
    try {
      node = json.readTree(line);
    } catch (StreamConstraintsException e) {
      throw new Invalid(
          "not valid JSON: the record exceeds the parser's limits (nesting depth "
              + StreamReadConstraints.DEFAULT_MAX_DEPTH
              + ", number or string length)");
    } catch (JsonEOFException e) {
      throw new Invalid("not valid JSON: the line ends inside a value (is the record cut short?)");
    } catch (JsonProcessingException e) {
      long column = e.getLocation() == null ? -1 : e.getLocation().getColumnNr();
      throw new Invalid(
          "not valid JSON" + (column > 0 ? " (syntax error at column " + column + ")" : ""));
    }
    if (node == null || node.isMissingNode()) {
      throw new Invalid("not valid JSON: the line holds no value");
    }
    if (!node.isObject()) {
      throw new Invalid("expected a JSON object per line, found " + typeName(node));
    }
    if (node.has("messages")) {
      return chat(node);
    }
    if (node.has("instruction") || node.has("output")) {
      return alpaca(node);
    }
    throw new Invalid(
        "record has neither 'messages' (chat form) nor 'instruction' and 'output' (alpaca form)");
  }

  private static DatasetRecord alpaca(JsonNode node) throws Invalid {
    String instruction = requiredString(node, "instruction", "");
    String output = requiredString(node, "output", "");
    String input = optionalString(node, "input", "");
    String system = optionalString(node, "system", "");
    return new DatasetRecord.Alpaca(system, instruction, input == null ? "" : input, output);
  }

  private static DatasetRecord chat(JsonNode node) throws Invalid {
    JsonNode messages = node.get("messages");
    if (!messages.isArray()) {
      throw new Invalid("field 'messages' must be an array, found " + typeName(messages));
    }
    if (messages.isEmpty()) {
      throw new Invalid("field 'messages' is empty");
    }
    List<ChatMessage> out = new ArrayList<>(messages.size());
    boolean anyAssistant = false;
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String where = "messages[" + i + "]";
      if (!m.isObject()) {
        throw new Invalid(
            where + " must be an object with 'role' and 'content', found " + typeName(m));
      }
      String role = requiredString(m, "role", where + ".");
      if (!ROLES.contains(role)) {
        throw new Invalid(
            where + ".role must be one of system, user, assistant (found another value)");
      }
      String content = requiredString(m, "content", where + ".");
      String reasoning = optionalString(m, "reasoning_content", where + ".");
      out.add(new ChatMessage(role, content, reasoning));
      anyAssistant |= ChatMessage.ASSISTANT.equals(role);
    }
    if (!anyAssistant) {
      throw new Invalid("conversation has no assistant message, so there is nothing to learn");
    }
    return new DatasetRecord.Chat(out);
  }

  private static String requiredString(JsonNode node, String field, String prefix) throws Invalid {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new Invalid("field '" + prefix + field + "' is missing");
    }
    if (!v.isTextual()) {
      throw new Invalid("field '" + prefix + field + "' must be a string, found " + typeName(v));
    }
    return v.textValue();
  }

  private static String optionalString(JsonNode node, String field, String prefix) throws Invalid {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new Invalid("field '" + prefix + field + "' must be a string, found " + typeName(v));
    }
    return v.textValue();
  }

  private static String typeName(JsonNode v) {
    return switch (v.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT, POJO -> "an object";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case STRING -> "a string";
      case BINARY -> "binary data";
      case MISSING -> "nothing";
    };
  }
}
