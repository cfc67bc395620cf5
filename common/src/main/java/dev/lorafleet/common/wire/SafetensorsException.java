package dev.lorafleet.common.wire;

import java.nio.file.Path;

/** A safetensors file or checkpoint that cannot be read; the message names the file and why. */
public class SafetensorsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SafetensorsException(Path file, String reason) {
    super(file + ": " + reason);
  }

  public SafetensorsException(Path file, String reason, Throwable cause) {
    super(file + ": " + reason, cause);
  }
}
