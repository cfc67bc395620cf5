package dev.lorafleet.worker.data.jinja;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Byte-exact comparison with Python's jinja2 as transformers configures it. The expected renderings
 * come from {@code tools/generate_chat_template_golden.py}: the real chat templates of Llama 3,
 * Llama 3.1, Qwen2.5 and Qwen3 over a set of conversations, and one small template per language
 * feature.
 */
class JinjaGoldenTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The generator's fixed "now" for strftime_now. */
  static final Clock FIXED =
      Clock.fixed(LocalDateTime.of(2025, 3, 7, 14, 5, 9).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  static JsonNode resource(String name) throws IOException {
    try (InputStream in = JinjaGoldenTest.class.getResourceAsStream("/chat-templates/" + name)) {
      assertThat(in).as(name).isNotNull();
      return JSON.readTree(in);
    }
  }

  static String templateSource(String name) throws IOException {
    try (InputStream in =
        JinjaGoldenTest.class.getResourceAsStream("/chat-templates/templates/" + name)) {
      assertThat(in).as(name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> variables(JsonNode entry) {
    return JSON.convertValue(entry.get("variables"), Map.class);
  }

  private static void check(Template template, JsonNode entry) {
    Map<String, Object> vars = variables(entry);
    if (entry.has("output")) {
      assertThat(template.render(vars)).isEqualTo(entry.get("output").textValue());
    } else if (entry.get("error").textValue().equals("raised")) {
      assertThatThrownBy(() -> template.render(vars))
          .isInstanceOf(TemplateException.Raised.class)
          .extracting(e -> ((TemplateException.Raised) e).raisedMessage())
          .isEqualTo(entry.get("message").textValue());
    } else {
      assertThatThrownBy(() -> template.render(vars)).isInstanceOf(TemplateException.class);
    }
  }

  @TestFactory
  Stream<DynamicTest> rendersRealChatTemplatesExactlyAsTransformers() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode entry : resource("golden.json")) {
      String name = entry.get("template").textValue();
      Template template = Template.parse(templateSource(name)).withClock(FIXED);
      tests.add(
          DynamicTest.dynamicTest(
              name + " / " + entry.get("case").textValue(), () -> check(template, entry)));
    }
    assertThat(tests).hasSizeGreaterThanOrEqualTo(80);
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> rendersEachLanguageFeatureAsJinja2() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode entry : resource("features.json")) {
      tests.add(
          DynamicTest.dynamicTest(
              entry.get("name").textValue(),
              () ->
                  check(
                      Template.parse(entry.get("template").textValue()).withClock(FIXED), entry)));
    }
    assertThat(tests).hasSizeGreaterThanOrEqualTo(100);
    return tests.stream();
  }
}
