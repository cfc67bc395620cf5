package dev.lorafleet.worker.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a model directory says about prompts beside {@code tokenizer.json}: the chat template and
 * the special tokens' texts, from {@code tokenizer_config.json} and {@code chat_template.jinja}.
 *
 * @param chatTemplate the Jinja source, or {@code null} when the model has none
 * @param chatTemplateSource where the template came from, for messages
 * @param bosToken BOS text or {@code null}; likewise {@code eosToken} and {@code padToken}
 */
public record TokenizerSettings(
    String chatTemplate,
    String chatTemplateSource,
    String bosToken,
    String eosToken,
    String padToken) {

  public static final String CONFIG_FILE = "tokenizer_config.json";
  public static final String TEMPLATE_FILE = "chat_template.jinja";

  /**
   * Reads the settings of {@code modelDir}. A {@code chat_template.jinja} file wins over the
   * config's {@code chat_template}, as in transformers; of a list of named templates the one named
   * {@code default} is used.
   */
  public static TokenizerSettings read(Path modelDir) {
    Path configFile = modelDir.resolve(CONFIG_FILE);
    JsonNode config = null;
    if (Files.isRegularFile(configFile)) {
      try {
        config = new ObjectMapper().readTree(configFile.toFile());
      } catch (IOException e) {
        throw new DatasetException(
            configFile + ": cannot read the tokenizer config: " + firstLine(e.getMessage()), e);
      }
      if (config == null || !config.isObject()) {
        throw new DatasetException(configFile + ": expected a JSON object");
      }
    }
    String template = null;
    String source = null;
    Path templateFile = modelDir.resolve(TEMPLATE_FILE);
    if (Files.isRegularFile(templateFile)) {
      try {
        template = Files.readString(templateFile, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new DatasetException(templateFile + ": cannot read the chat template: " + e, e);
      }
      source = templateFile.toString();
    } else if (config != null && config.hasNonNull("chat_template")) {
      template = chatTemplate(configFile, config.get("chat_template"));
      source = configFile + " (chat_template)";
    }
    return new TokenizerSettings(
        template,
        source,
        token(configFile, config, "bos_token"),
        token(configFile, config, "eos_token"),
        token(configFile, config, "pad_token"));
  }

  private static String chatTemplate(Path file, JsonNode node) {
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isArray()) {
      for (JsonNode named : node) {
        if ("default".equals(named.path("name").asText(null))
            && named.path("template").isTextual()) {
          return named.get("template").textValue();
        }
      }
      throw new DatasetException(
          file + ": chat_template is a list of named templates but none is named 'default'");
    }
    throw new DatasetException(file + ": chat_template must be a string or a list of templates");
  }

  /** A special token is written either as its text or as an AddedToken object with content. */
  private static String token(Path file, JsonNode config, String field) {
    if (config == null) {
      return null;
    }
    JsonNode v = config.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    if (v.isObject() && v.path("content").isTextual()) {
      return v.get("content").textValue();
    }
    throw new DatasetException(file + ": " + field + " must be a string or {\"content\": …}");
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
