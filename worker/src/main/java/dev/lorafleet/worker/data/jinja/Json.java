package dev.lorafleet.worker.data.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, as transformers' {@code tojson} filter calls it: {@code
 * ensure_ascii=False} by default, optional indent, separators and sorted keys.
 */
final class Json {
  private final boolean ensureAscii;
  private final String indent;
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean sortKeys;

  Json(boolean ensureAscii, Object indent, List<?> separators, boolean sortKeys) {
    this.ensureAscii = ensureAscii;
    if (indent == null) {
      this.indent = null;
    } else if (indent instanceof String s) {
      this.indent = s;
    } else if (Py.isInteger(indent)) {
      this.indent = " ".repeat((int) Math.max(0, Py.asLong(indent)));
    } else {
      throw new TemplateException("tojson: indent must be an integer or a string");
    }
    if (separators != null) {
      if (separators.size() != 2) {
        throw new TemplateException("tojson: separators must be a pair");
      }
      this.itemSeparator = Py.str(separators.get(0));
      this.keySeparator = Py.str(separators.get(1));
    } else {
      this.itemSeparator = indent == null ? ", " : ",";
      this.keySeparator = ": ";
    }
    this.sortKeys = sortKeys;
  }

  String dumps(Object v) {
    StringBuilder sb = new StringBuilder();
    write(sb, v, 0);
    return sb.toString();
  }

  private void write(StringBuilder sb, Object v, int level) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (v instanceof Long l) {
      sb.append(l);
    } else if (v instanceof Double d) {
      sb.append(number(d));
    } else if (v instanceof String s) {
      string(sb, s);
    } else if (v instanceof List<?> l) {
      if (l.isEmpty()) {
        sb.append("[]");
        return;
      }
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) {
          sb.append(itemSeparator);
        }
        newline(sb, level + 1);
        write(sb, l.get(i), level + 1);
      }
      newline(sb, level);
      sb.append(']');
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        sb.append("{}");
        return;
      }
      List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
      if (sortKeys) {
        entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<"));
      }
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : entries) {
        if (!first) {
          sb.append(itemSeparator);
        }
        first = false;
        newline(sb, level + 1);
        string(sb, key(e.getKey()));
        sb.append(keySeparator);
        write(sb, e.getValue(), level + 1);
      }
      newline(sb, level);
      sb.append('}');
    } else {
      throw new TemplateException("Object of type " + Py.typeName(v) + " is not JSON serializable");
    }
  }

  private void newline(StringBuilder sb, int level) {
    if (indent != null) {
      sb.append('\n').append(indent.repeat(level));
    }
  }

  private static String key(Object k) {
    if (k instanceof String s) {
      return s;
    }
    if (k == null) {
      return "null";
    }
    if (k instanceof Boolean b) {
      return b ? "true" : "false";
    }
    if (k instanceof Long l) {
      return l.toString();
    }
    if (k instanceof Double d) {
      return number(d);
    }
    throw new TemplateException(
        "keys must be str, int, float, bool or None, not " + Py.typeName(k));
  }

  private static String number(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    return Py.floatRepr(d);
  }

  private void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20 || (ensureAscii && c > 0x7e)) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
