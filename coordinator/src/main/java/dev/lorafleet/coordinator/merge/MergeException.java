package dev.lorafleet.coordinator.merge;

/** A merge that cannot or must not run; the message names the path, tensor or shape at fault. */
public class MergeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MergeException(String message) {
    super(message);
  }

  public MergeException(String message, Throwable cause) {
    super(message, cause);
  }
}
