package dev.lorafleet.coordinator.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the API's bearer token from a file (one line; surrounding whitespace is ignored). A token
 * file that cannot be read is an error, never "no token": a coordinator configured with a token
 * must refuse to start rather than run open.
 */
public final class TokenFile {
  /** Shorter tokens are guessable; {@code openssl rand -hex 32} gives 64 characters. */
  public static final int MIN_LENGTH = 16;

  private static final int MAX_BYTES = 4096;

  private TokenFile() {}

  /**
   * The token in {@code file}.
   *
   * @throws IllegalArgumentException saying what is wrong with the file and what to do
   */
  public static String load(Path file) {
    byte[] bytes;
    try {
      if (Files.isDirectory(file)) {
        throw invalid(file, "is a directory");
      }
      if (Files.size(file) > MAX_BYTES) {
        throw invalid(file, "is larger than " + MAX_BYTES + " bytes; it should hold one token");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw invalid(file, "does not exist");
    } catch (AccessDeniedException e) {
      throw invalid(file, "is not readable by this user");
    } catch (IOException e) {
      throw invalid(file, "cannot be read (" + e.getMessage() + ")");
    }
    String token;
    try {
      token =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString()
              .strip();
    } catch (CharacterCodingException e) {
      throw invalid(file, "is not UTF-8 text");
    }
    if (token.isEmpty()) {
      throw invalid(file, "is empty");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c == 0x7f) {
        throw invalid(
            file, "holds more than one word or a control character; put only the token in it");
      }
    }
    if (token.length() < MIN_LENGTH) {
      throw invalid(
          file,
          "holds a token of "
              + token.length()
              + " characters; use at least "
              + MIN_LENGTH
              + " (e.g. openssl rand -hex 32)");
    }
    return token;
  }

  private static IllegalArgumentException invalid(Path file, String problem) {
    return new IllegalArgumentException("token file " + file + " " + problem);
  }
}
