package dev.lorafleet.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
  @TempDir Path tmp;

  @Test
  void readsTheTokenIgnoringSurroundingWhitespace() throws Exception {
    Path file = Files.writeString(tmp.resolve("token"), "  0123456789abcdef0123\n");

    assertThat(TokenFile.load(file)).isEqualTo("0123456789abcdef0123");
  }

  @Test
  void refusesAMissingFileWithAClearMessage() {
    Path file = tmp.resolve("missing");

    assertThatThrownBy(() -> TokenFile.load(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("token file " + file + " does not exist");
  }

  @Test
  void refusesAnUnreadableFile() throws Exception {
    Path file = Files.writeString(tmp.resolve("token"), "0123456789abcdef0123");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
    Assumptions.assumeFalse(Files.isReadable(file), "running as root: every file is readable");

    assertThatThrownBy(() -> TokenFile.load(file)).hasMessageContaining("is not readable");
  }

  @Test
  void refusesEmptyShortAndMultiWordTokensAndDirectories() throws Exception {
    assertThatThrownBy(() -> TokenFile.load(Files.writeString(tmp.resolve("a"), " \n")))
        .hasMessageEndingWith("is empty");
    assertThatThrownBy(() -> TokenFile.load(Files.writeString(tmp.resolve("b"), "secret")))
        .hasMessageContaining("holds a token of 6 characters; use at least 16");
    assertThatThrownBy(
            () -> TokenFile.load(Files.writeString(tmp.resolve("c"), "0123456789abcdef 2nd")))
        .hasMessageContaining("holds more than one word");
    assertThatThrownBy(() -> TokenFile.load(tmp)).hasMessageEndingWith("is a directory");
  }
}
