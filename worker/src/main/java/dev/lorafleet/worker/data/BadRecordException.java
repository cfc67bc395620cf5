package dev.lorafleet.worker.data;

import java.nio.file.Path;

/**
 * A dataset line that cannot be used, as {@code file:line: reason}. The reason never quotes the
 * line itself: datasets can be private and lines can be megabytes long.
 */
public final class BadRecordException extends DatasetException {
  private final transient Path file;
  private final long line;
  private final String reason;

  public BadRecordException(Path file, long line, String reason) {
    super(file + ":" + line + ": " + reason);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }

  public Path file() {
    return file;
  }

  /** One-based line number. */
  public long line() {
    return line;
  }

  /** The reason without the location. */
  public String reason() {
    return reason;
  }
}
