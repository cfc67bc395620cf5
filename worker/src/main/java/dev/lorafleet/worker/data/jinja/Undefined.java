package dev.lorafleet.worker.data.jinja;

/**
 * Jinja's default {@code Undefined}: prints as nothing, is false, iterates as empty and has length
 * 0, but fails when used as a value (arithmetic, attribute access, item access).
 */
final class Undefined {
  private final String message;

  Undefined(String message) {
    this.message = message;
  }

  static Undefined name(String name) {
    return new Undefined("'" + name + "' is undefined");
  }

  static Undefined attribute(Object obj, Object name) {
    if (name instanceof String) {
      return new Undefined(
          Py.quote(Py.objectTypeRepr(obj)) + " has no attribute " + Py.quote((String) name));
    }
    return new Undefined(Py.objectTypeRepr(obj) + " has no element " + Py.repr(name));
  }

  /** The error raised when this value is used where a real value is needed. */
  TemplateException fail() {
    return new TemplateException(message);
  }

  String message() {
    return message;
  }

  @Override
  public String toString() {
    return "";
  }
}
