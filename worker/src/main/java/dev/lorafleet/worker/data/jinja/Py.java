package dev.lorafleet.worker.data.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Python's semantics for the values templates handle: truth, str/repr, equality, arithmetic. */
final class Py {
  private Py() {}

  // ---- values coming in from Java ---------------------------------------------------------

  /** Converts Java values a caller passes in (Integer, arrays, records of maps) to ours. */
  static Object fromJava(Object v) {
    if (v == null
        || v instanceof String
        || v instanceof Boolean
        || v instanceof Long
        || v instanceof Double
        || v instanceof Undefined
        || v instanceof Namespace
        || v instanceof JinjaCallable
        || v instanceof PyTuple) {
      return v;
    }
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Float) {
      return ((Float) v).doubleValue();
    }
    if (v instanceof Character) {
      return v.toString();
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.put(fromJava(e.getKey()), fromJava(e.getValue()));
      }
      return out;
    }
    if (v instanceof Collection<?> c) {
      List<Object> out = new ArrayList<>(c.size());
      for (Object o : c) {
        out.add(fromJava(o));
      }
      return out;
    }
    if (v instanceof Object[] arr) {
      List<Object> out = new ArrayList<>(arr.length);
      for (Object o : arr) {
        out.add(fromJava(o));
      }
      return out;
    }
    throw new IllegalArgumentException(
        "cannot pass a " + v.getClass().getName() + " to a template");
  }

  // ---- whitespace ---------------------------------------------------------------------------

  /** Python's {@code str.isspace} for one character. */
  static boolean isSpace(char c) {
    return c == ' '
        || (c >= '\t' && c <= '\r')
        || (c >= '\u001c' && c <= '\u001f')
        || c == '\u0085'
        || c == '\u00a0'
        || c == '\u1680'
        || (c >= '\u2000' && c <= '\u200a')
        || c == '\u2028'
        || c == '\u2029'
        || c == '\u202f'
        || c == '\u205f'
        || c == '\u3000';
  }

  private static boolean stripped(char c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
  }

  static String strip(String s, String chars) {
    return lstrip(rstrip(s, chars), chars);
  }

  static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length() && stripped(s.charAt(i), chars)) {
      i++;
    }
    return s.substring(i);
  }

  static String rstrip(String s, String chars) {
    int i = s.length();
    while (i > 0 && stripped(s.charAt(i - 1), chars)) {
      i--;
    }
    return s.substring(0, i);
  }

  // ---- truth, types, printing ---------------------------------------------------------------

  static boolean truthy(Object v) {
    if (v == null || v instanceof Undefined) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof Long l) {
      return l != 0;
    }
    if (v instanceof Double d) {
      return d != 0.0;
    }
    if (v instanceof String s) {
      return !s.isEmpty();
    }
    if (v instanceof List<?> l) {
      return !l.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return !m.isEmpty();
    }
    return true;
  }

  static String typeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    if (v instanceof String) {
      return "str";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Long) {
      return "int";
    }
    if (v instanceof Double) {
      return "float";
    }
    if (v instanceof PyTuple) {
      return "tuple";
    }
    if (v instanceof List) {
      return "list";
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof Namespace) {
      return "Namespace";
    }
    if (v instanceof LoopContext) {
      return "LoopContext";
    }
    return "function";
  }

  /** Jinja's {@code object_type_repr}: "None", "dict object", … */
  static String objectTypeRepr(Object v) {
    if (v == null) {
      return "None";
    }
    return typeName(v) + " object";
  }

  /** Python's {@code str()}. */
  static String str(Object v) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Undefined) {
      return "";
    }
    return repr(v);
  }

  /** Python's {@code repr()}. */
  static String repr(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (v instanceof Long l) {
      return l.toString();
    }
    if (v instanceof Double d) {
      return floatRepr(d);
    }
    if (v instanceof String s) {
      return quote(s);
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    if (v instanceof PyTuple t) {
      StringBuilder sb = new StringBuilder("(");
      for (int i = 0; i < t.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        sb.append(repr(t.get(i)));
      }
      return sb.append(t.size() == 1 ? ",)" : ")").toString();
    }
    if (v instanceof List<?> l) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        sb.append(repr(l.get(i)));
      }
      return sb.append(']').toString();
    }
    if (v instanceof Map<?, ?> m) {
      StringBuilder sb = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        sb.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
      }
      return sb.append('}').toString();
    }
    if (v instanceof Namespace ns) {
      return "<Namespace " + repr(ns.attrs) + ">";
    }
    return "<" + typeName(v) + ">";
  }

  /** Python's repr of a str. */
  static String quote(String s) {
    char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder sb = new StringBuilder(s.length() + 2).append(q);
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == q || cp == '\\') {
        sb.append('\\').appendCodePoint(cp);
      } else if (cp == '\n') {
        sb.append("\\n");
      } else if (cp == '\r') {
        sb.append("\\r");
      } else if (cp == '\t') {
        sb.append("\\t");
      } else if (!isPrintable(cp)) {
        if (cp < 0x100) {
          sb.append(String.format("\\x%02x", cp));
        } else if (cp < 0x10000) {
          sb.append(String.format("\\u%04x", cp));
        } else {
          sb.append(String.format("\\U%08x", cp));
        }
      } else {
        sb.appendCodePoint(cp);
      }
    }
    return sb.append(q).toString();
  }

  private static boolean isPrintable(int cp) {
    if (cp == ' ') {
      return true;
    }
    int t = Character.getType(cp);
    return t != Character.CONTROL
        && t != Character.FORMAT
        && t != Character.SURROGATE
        && t != Character.PRIVATE_USE
        && t != Character.UNASSIGNED
        && t != Character.LINE_SEPARATOR
        && t != Character.PARAGRAPH_SEPARATOR
        && t != Character.SPACE_SEPARATOR;
  }

  /** Python's {@code repr(float)}: shortest round-trip digits, exponent outside [-4, 16). */
  static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = bd.unscaledValue().toString();
    int exp = digits.length() - 1 - bd.scale(); // value = d.ddd × 10^exp
    StringBuilder sb = new StringBuilder();
    if (d < 0) {
      sb.append('-');
    }
    if (exp >= -4 && exp < 16) {
      if (exp < 0) {
        sb.append("0.").append("0".repeat(-exp - 1)).append(digits);
      } else if (digits.length() <= exp + 1) {
        sb.append(digits).append("0".repeat(exp + 1 - digits.length())).append(".0");
      } else {
        sb.append(digits, 0, exp + 1).append('.').append(digits.substring(exp + 1));
      }
      return sb.toString();
    }
    sb.append(digits.charAt(0));
    if (digits.length() > 1) {
      sb.append('.').append(digits.substring(1));
    }
    sb.append('e').append(exp < 0 ? '-' : '+');
    int a = Math.abs(exp);
    if (a < 10) {
      sb.append('0');
    }
    return sb.append(a).toString();
  }

  // ---- equality and ordering ----------------------------------------------------------------

  static boolean isNumber(Object v) {
    return v instanceof Long || v instanceof Double || v instanceof Boolean;
  }

  static boolean isInteger(Object v) {
    return v instanceof Long || v instanceof Boolean;
  }

  static long asLong(Object v) {
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    return (Long) v;
  }

  static double asDouble(Object v) {
    if (v instanceof Double d) {
      return d;
    }
    return asLong(v);
  }

  static boolean eq(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a == null || b == null) {
      return false;
    }
    if (a instanceof Undefined || b instanceof Undefined) {
      return a instanceof Undefined && b instanceof Undefined;
    }
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        return asLong(a) == asLong(b);
      }
      return asDouble(a) == asDouble(b);
    }
    if (a instanceof String || b instanceof String) {
      return a.equals(b);
    }
    if (a instanceof List<?> la && b instanceof List<?> lb) {
      if ((a instanceof PyTuple) != (b instanceof PyTuple) || la.size() != lb.size()) {
        return false;
      }
      for (int i = 0; i < la.size(); i++) {
        if (!eq(la.get(i), lb.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
      if (ma.size() != mb.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : ma.entrySet()) {
        if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }

  /** Python's ordering for {@code <}, {@code <=}, {@code >}, {@code >=}. */
  static int compare(Object a, Object b, String op) {
    if (a instanceof Undefined u) {
      throw u.fail();
    }
    if (b instanceof Undefined u) {
      throw u.fail();
    }
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        return Long.compare(asLong(a), asLong(b));
      }
      return Double.compare(asDouble(a), asDouble(b));
    }
    if (a instanceof String sa && b instanceof String sb) {
      return compareCodePoints(sa, sb);
    }
    if (a instanceof List<?> la
        && b instanceof List<?> lb
        && (a instanceof PyTuple) == (b instanceof PyTuple)) {
      for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
        if (!eq(la.get(i), lb.get(i))) {
          return compare(la.get(i), lb.get(i), op);
        }
      }
      return Integer.compare(la.size(), lb.size());
    }
    throw new TemplateException(
        "'"
            + op
            + "' not supported between instances of '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  private static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  // ---- arithmetic ---------------------------------------------------------------------------

  private static void checkDefined(Object a, Object b) {
    if (a instanceof Undefined u) {
      throw u.fail();
    }
    if (b instanceof Undefined u) {
      throw u.fail();
    }
  }

  private static TemplateException unsupported(String op, Object a, Object b) {
    return new TemplateException(
        "unsupported operand type(s) for "
            + op
            + ": '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  static Object add(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        return Math.addExact(asLong(a), asLong(b));
      }
      return asDouble(a) + asDouble(b);
    }
    if (a instanceof String sa) {
      if (b instanceof String sb) {
        return sa + sb;
      }
      throw new TemplateException("can only concatenate str (not \"" + typeName(b) + "\") to str");
    }
    if (a instanceof List<?> la && b instanceof List<?> lb) {
      if ((a instanceof PyTuple) != (b instanceof PyTuple)) {
        throw new TemplateException(
            "can only concatenate "
                + typeName(a)
                + " (not \""
                + typeName(b)
                + "\") to "
                + typeName(a));
      }
      List<Object> out = new ArrayList<>(la);
      out.addAll(lb);
      return a instanceof PyTuple ? new PyTuple(out) : out;
    }
    if (a instanceof List<?>) {
      throw new TemplateException(
          "can only concatenate "
              + typeName(a)
              + " (not \""
              + typeName(b)
              + "\") to "
              + typeName(a));
    }
    throw unsupported("+", a, b);
  }

  static Object sub(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        return Math.subtractExact(asLong(a), asLong(b));
      }
      return asDouble(a) - asDouble(b);
    }
    throw unsupported("-", a, b);
  }

  static Object mul(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        return Math.multiplyExact(asLong(a), asLong(b));
      }
      return asDouble(a) * asDouble(b);
    }
    if (a instanceof String s && isInteger(b)) {
      return s.repeat((int) Math.max(0, asLong(b)));
    }
    if (b instanceof String s && isInteger(a)) {
      return s.repeat((int) Math.max(0, asLong(a)));
    }
    if (a instanceof List<?> l && isInteger(b)) {
      return repeat(l, asLong(b), a instanceof PyTuple);
    }
    if (b instanceof List<?> l && isInteger(a)) {
      return repeat(l, asLong(a), b instanceof PyTuple);
    }
    throw unsupported("*", a, b);
  }

  private static Object repeat(List<?> l, long n, boolean tuple) {
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      out.addAll(l);
    }
    return tuple ? new PyTuple(out) : out;
  }

  static Object truediv(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      double d = asDouble(b);
      if (d == 0) {
        throw new TemplateException("division by zero");
      }
      return asDouble(a) / d;
    }
    throw unsupported("/", a, b);
  }

  static Object floordiv(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        if (asLong(b) == 0) {
          throw new TemplateException("integer division or modulo by zero");
        }
        return Math.floorDiv(asLong(a), asLong(b));
      }
      if (asDouble(b) == 0) {
        throw new TemplateException("float floor division by zero");
      }
      return Math.floor(asDouble(a) / asDouble(b));
    }
    throw unsupported("//", a, b);
  }

  static Object mod(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b)) {
        if (asLong(b) == 0) {
          throw new TemplateException("integer division or modulo by zero");
        }
        return Math.floorMod(asLong(a), asLong(b));
      }
      double x = asDouble(a);
      double y = asDouble(b);
      if (y == 0) {
        throw new TemplateException("float modulo");
      }
      double r = x - y * Math.floor(x / y);
      return r;
    }
    if (a instanceof String s) {
      return percentFormat(s, b);
    }
    throw unsupported("%", a, b);
  }

  /** The {@code %s}/{@code %d}/{@code %r} subset of Python's printf-style formatting. */
  private static String percentFormat(String fmt, Object args) {
    List<?> values = args instanceof PyTuple t ? t : java.util.Collections.singletonList(args);
    StringBuilder sb = new StringBuilder();
    int next = 0;
    for (int i = 0; i < fmt.length(); i++) {
      char c = fmt.charAt(i);
      if (c != '%' || i + 1 >= fmt.length()) {
        sb.append(c);
        continue;
      }
      char f = fmt.charAt(++i);
      if (f == '%') {
        sb.append('%');
        continue;
      }
      if (next >= values.size()) {
        throw new TemplateException("not enough arguments for format string");
      }
      Object v = values.get(next++);
      switch (f) {
        case 's' -> sb.append(str(v));
        case 'r' -> sb.append(repr(v));
        case 'd', 'i' -> sb.append(isNumber(v) ? (long) asDouble(v) : str(v));
        default -> throw new TemplateException("unsupported format character '" + f + "'");
      }
    }
    if (next < values.size()) {
      throw new TemplateException("not all arguments converted during string formatting");
    }
    return sb.toString();
  }

  static Object pow(Object a, Object b) {
    checkDefined(a, b);
    if (isNumber(a) && isNumber(b)) {
      if (isInteger(a) && isInteger(b) && asLong(b) >= 0) {
        long base = asLong(a);
        long result = 1;
        for (long i = 0; i < asLong(b); i++) {
          result = Math.multiplyExact(result, base);
        }
        return result;
      }
      return Math.pow(asDouble(a), asDouble(b));
    }
    throw unsupported("** or pow()", a, b);
  }

  static Object neg(Object a) {
    if (a instanceof Undefined u) {
      throw u.fail();
    }
    if (isInteger(a)) {
      return Math.negateExact(asLong(a));
    }
    if (a instanceof Double d) {
      return -d;
    }
    throw new TemplateException("bad operand type for unary -: '" + typeName(a) + "'");
  }

  static Object pos(Object a) {
    if (a instanceof Undefined u) {
      throw u.fail();
    }
    if (isInteger(a)) {
      return asLong(a);
    }
    if (a instanceof Double) {
      return a;
    }
    throw new TemplateException("bad operand type for unary +: '" + typeName(a) + "'");
  }

  // ---- containers ---------------------------------------------------------------------------

  /** The code points of a string as one-character strings. */
  static List<Object> chars(String s) {
    List<Object> out = new ArrayList<>(s.length());
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      int n = Character.charCount(cp);
      out.add(s.substring(i, i + n));
      i += n;
    }
    return out;
  }

  /** Python's {@code iter()} over a value, materialised. */
  static List<Object> iterate(Object v) {
    if (v instanceof Undefined) {
      return List.of();
    }
    if (v instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    if (v instanceof Map<?, ?> m) {
      return new ArrayList<>(m.keySet());
    }
    if (v instanceof String s) {
      return chars(s);
    }
    throw new TemplateException("'" + typeName(v) + "' object is not iterable");
  }

  static int len(Object v) {
    if (v instanceof Undefined) {
      return 0;
    }
    if (v instanceof String s) {
      return s.codePointCount(0, s.length());
    }
    if (v instanceof List<?> l) {
      return l.size();
    }
    if (v instanceof Map<?, ?> m) {
      return m.size();
    }
    if (v instanceof Namespace ns) {
      throw new TemplateException("object of type 'Namespace' has no len()");
    }
    throw new TemplateException("object of type '" + typeName(v) + "' has no len()");
  }

  static boolean contains(Object container, Object item) {
    if (container instanceof String s) {
      if (!(item instanceof String sub)) {
        if (item instanceof Undefined u) {
          throw u.fail();
        }
        throw new TemplateException(
            "'in <string>' requires string as left operand, not " + typeName(item));
      }
      return s.contains(sub);
    }
    if (container instanceof Map<?, ?> m) {
      for (Object k : m.keySet()) {
        if (eq(k, item)) {
          return true;
        }
      }
      return false;
    }
    if (container instanceof Undefined) {
      return false;
    }
    if (container instanceof List<?> l) {
      for (Object o : l) {
        if (eq(o, item)) {
          return true;
        }
      }
      return false;
    }
    throw new TemplateException("argument of type '" + typeName(container) + "' is not iterable");
  }

  /** {@code obj[key]}; an Undefined when there is no such item. */
  static Object item(Object obj, Object key) {
    if (obj instanceof Undefined u) {
      throw u.fail();
    }
    if (obj instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (eq(e.getKey(), key)) {
          return e.getValue();
        }
      }
      return NO_ITEM;
    }
    if ((obj instanceof List || obj instanceof String) && isInteger(key)) {
      List<?> l = obj instanceof String s ? chars(s) : (List<?>) obj;
      long i = asLong(key);
      if (i < 0) {
        i += l.size();
      }
      if (i < 0 || i >= l.size()) {
        return NO_ITEM;
      }
      return l.get((int) i);
    }
    return NO_ITEM;
  }

  /** Marker for "no such item", so that the caller can fall back to attribute lookup. */
  static final Object NO_ITEM = new Object();

  /** Python slicing {@code obj[start:stop:step]} of a list, tuple or string. */
  static Object slice(Object obj, Object start, Object stop, Object step) {
    if (obj instanceof Undefined u) {
      throw u.fail();
    }
    List<?> l;
    if (obj instanceof String s) {
      l = chars(s);
    } else if (obj instanceof List<?> list) {
      l = list;
    } else {
      throw new TemplateException("'" + typeName(obj) + "' object is not subscriptable");
    }
    int n = l.size();
    long st = step == null ? 1 : sliceIndex(step);
    if (st == 0) {
      throw new TemplateException("slice step cannot be zero");
    }
    long lo;
    long hi;
    if (st > 0) {
      lo = start == null ? 0 : clamp(sliceIndex(start), n, 0, n);
      hi = stop == null ? n : clamp(sliceIndex(stop), n, 0, n);
    } else {
      lo = start == null ? n - 1 : clamp(sliceIndex(start), n, -1, n - 1);
      hi = stop == null ? -1 : clamp(sliceIndex(stop), n, -1, n - 1);
    }
    List<Object> out = new ArrayList<>();
    if (st > 0) {
      for (long i = lo; i < hi; i += st) {
        out.add(l.get((int) i));
      }
    } else {
      for (long i = lo; i > hi; i += st) {
        out.add(l.get((int) i));
      }
    }
    if (obj instanceof String) {
      StringBuilder sb = new StringBuilder();
      for (Object o : out) {
        sb.append((String) o);
      }
      return sb.toString();
    }
    return obj instanceof PyTuple ? new PyTuple(out) : out;
  }

  private static long sliceIndex(Object v) {
    if (isInteger(v)) {
      return asLong(v);
    }
    throw new TemplateException("slice indices must be integers or None, not " + typeName(v));
  }

  private static long clamp(long i, int n, long lo, long hi) {
    if (i < 0) {
      i += n;
    }
    return Math.max(lo, Math.min(hi, i));
  }
}
