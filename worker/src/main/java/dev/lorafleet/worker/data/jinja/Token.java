package dev.lorafleet.worker.data.jinja;

/** One lexical token of a template. */
record Token(Type type, String value, int line) {
  enum Type {
    TEXT,
    VAR_BEGIN,
    VAR_END,
    BLOCK_BEGIN,
    BLOCK_END,
    NAME,
    STRING,
    INTEGER,
    FLOAT,
    OPERATOR,
    EOF
  }

  boolean is(Type t, String v) {
    return type == t && value.equals(v);
  }

  boolean isOp(String v) {
    return type == Type.OPERATOR && value.equals(v);
  }

  boolean isName(String v) {
    return type == Type.NAME && value.equals(v);
  }

  String describe() {
    return switch (type) {
      case EOF -> "end of template";
      case TEXT -> "template data";
      case VAR_BEGIN -> "'{{'";
      case VAR_END -> "'}}'";
      case BLOCK_BEGIN -> "'{%'";
      case BLOCK_END -> "'%}'";
      case STRING -> "string literal";
      default -> "'" + value + "'";
    };
  }
}
