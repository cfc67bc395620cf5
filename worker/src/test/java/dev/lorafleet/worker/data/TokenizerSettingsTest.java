package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerSettingsTest {
  @TempDir Path dir;

  @Test
  void readsTemplateAndSpecialTokens() throws IOException {
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"chat_template\": \"{{ x }}\", \"bos_token\": {\"content\": \"<s>\", \"lstrip\": false},"
            + " \"eos_token\": \"</s>\", \"pad_token\": null}");
    TokenizerSettings s = TokenizerSettings.read(dir);
    assertThat(s.chatTemplate()).isEqualTo("{{ x }}");
    assertThat(s.bosToken()).isEqualTo("<s>");
    assertThat(s.eosToken()).isEqualTo("</s>");
    assertThat(s.padToken()).isNull();
  }

  @Test
  void picksTheDefaultOfNamedTemplates() throws IOException {
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
            + " {\"name\": \"default\", \"template\": \"D\"}]}");
    assertThat(TokenizerSettings.read(dir).chatTemplate()).isEqualTo("D");
  }

  @Test
  void refusesNamedTemplatesWithoutADefault() throws IOException {
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}]}");
    assertThatThrownBy(() -> TokenizerSettings.read(dir))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("none is named 'default'");
  }

  @Test
  void prefersChatTemplateJinjaBesideTheConfig() throws IOException {
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"config\"}");
    Files.writeString(dir.resolve("chat_template.jinja"), "file");
    TokenizerSettings s = TokenizerSettings.read(dir);
    assertThat(s.chatTemplate()).isEqualTo("file");
    assertThat(s.chatTemplateSource()).endsWith("chat_template.jinja");
  }

  @Test
  void hasNoTemplateWithoutConfig() {
    TokenizerSettings s = TokenizerSettings.read(dir);
    assertThat(s.chatTemplate()).isNull();
    assertThat(s.bosToken()).isNull();
  }

  @Test
  void namesABrokenConfig() throws IOException {
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
    assertThatThrownBy(() -> TokenizerSettings.read(dir))
        .isInstanceOf(DatasetException.class)
        .hasMessageStartingWith(dir.resolve("tokenizer_config.json") + ": cannot read");
  }
}
