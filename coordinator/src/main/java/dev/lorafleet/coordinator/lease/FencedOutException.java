package dev.lorafleet.coordinator.lease;

import java.io.IOException;

/**
 * A write refused because this coordinator no longer holds (or cannot confirm) its lease. An {@link
 * IOException}, so that callers that already handle a failed write (a checkpoint that could not be
 * written, an event line lost) handle this one the same way and write nothing.
 */
public final class FencedOutException extends IOException {
  private static final long serialVersionUID = 1L;

  public FencedOutException(String message) {
    super(message);
  }

  public FencedOutException(String message, Throwable cause) {
    super(message, cause);
  }
}
