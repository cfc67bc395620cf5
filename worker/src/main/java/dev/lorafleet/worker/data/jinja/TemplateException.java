package dev.lorafleet.worker.data.jinja;

/**
 * A template that cannot be parsed (with its line) or that fails while rendering: an undefined
 * value used where a value is needed, a type error, or the template's own {@code
 * raise_exception(…)}.
 */
public class TemplateException extends RuntimeException {
  private final int line;

  public TemplateException(String message, int line) {
    super(line > 0 ? "line " + line + ": " + message : message);
    this.line = line;
  }

  public TemplateException(String message) {
    this(message, 0);
  }

  /** The template line, or 0 when not known. */
  public int line() {
    return line;
  }

  /** Raised by the template itself through {@code raise_exception(message)}. */
  public static final class Raised extends TemplateException {
    private final String raisedMessage;

    public Raised(String message) {
      super(message);
      this.raisedMessage = message;
    }

    /** The template's own message. */
    public String raisedMessage() {
      return raisedMessage;
    }
  }
}
