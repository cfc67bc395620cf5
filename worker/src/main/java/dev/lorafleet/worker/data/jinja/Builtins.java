package dev.lorafleet.worker.data.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Attribute and item lookup as Jinja's immutable sandbox does it, Python's str/dict/list methods,
 * and Jinja's built-in filters and tests (with transformers' {@code tojson}).
 */
final class Builtins {
  private Builtins() {}

  private static final Set<String> STR_METHODS =
      Set.of(
          "startswith",
          "endswith",
          "strip",
          "lstrip",
          "rstrip",
          "split",
          "rsplit",
          "lower",
          "upper",
          "title",
          "capitalize",
          "swapcase",
          "replace",
          "find",
          "rfind",
          "index",
          "rindex",
          "count",
          "join",
          "splitlines",
          "isdigit",
          "isalpha",
          "isalnum",
          "isspace",
          "islower",
          "isupper",
          "isnumeric",
          "isdecimal",
          "zfill",
          "ljust",
          "rjust",
          "center",
          "removeprefix",
          "removesuffix",
          "partition",
          "rpartition",
          "casefold");
  private static final Set<String> DICT_METHODS = Set.of("get", "items", "keys", "values", "copy");
  private static final Set<String> DICT_UNSAFE =
      Set.of("pop", "popitem", "setdefault", "update", "clear");
  private static final Set<String> LIST_METHODS = Set.of("count", "index", "copy");
  private static final Set<String> LIST_UNSAFE =
      Set.of("append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear");

  /** A method looked up on a value, called later. */
  record BoundMethod(Object self, String name) implements JinjaCallable {
    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      return invokeMethod(self, name, args, kwargs);
    }
  }

  private static Undefined unsafe(Object obj, String name) {
    return new Undefined(
        "access to attribute '" + name + "' of '" + Py.typeName(obj) + "' object is unsafe.");
  }

  // ---- lookup -------------------------------------------------------------------------------

  /** {@code obj.name}: a method, else the item of that name, else undefined. */
  static Object getattr(Object obj, String name) {
    if (obj instanceof Undefined u) {
      throw u.fail();
    }
    Object method = method(obj, name);
    if (method != null) {
      return method;
    }
    if (obj instanceof Map || obj instanceof List) {
      Object v = Py.item(obj, name);
      if (v != Py.NO_ITEM) {
        return v;
      }
    }
    if (obj instanceof Namespace ns && ns.attrs.containsKey(name)) {
      return ns.attrs.get(name);
    }
    if (obj instanceof LoopContext loop) {
      return loop.attribute(name);
    }
    return Undefined.attribute(obj, name);
  }

  /** The method {@code name} of {@code obj} (bound, or an unsafe marker), or null. */
  private static Object method(Object obj, String name) {
    if (obj instanceof String && STR_METHODS.contains(name)) {
      return new BoundMethod(obj, name);
    }
    if (obj instanceof Map) {
      if (DICT_METHODS.contains(name)) {
        return new BoundMethod(obj, name);
      }
      if (DICT_UNSAFE.contains(name)) {
        return unsafe(obj, name);
      }
    }
    if (obj instanceof List) {
      if (LIST_METHODS.contains(name)) {
        return new BoundMethod(obj, name);
      }
      if (!(obj instanceof PyTuple) && LIST_UNSAFE.contains(name)) {
        return unsafe(obj, name);
      }
    }
    return null;
  }

  /** {@code obj[key]}: the item, else (for a string key) the attribute, else undefined. */
  static Object getitem(Object obj, Object key) {
    if (obj instanceof Undefined u) {
      throw u.fail();
    }
    Object v = Py.item(obj, key);
    if (v != Py.NO_ITEM) {
      return v;
    }
    if (key instanceof String s) {
      Object method = method(obj, s);
      if (method != null) {
        return method;
      }
      if (obj instanceof Namespace ns && ns.attrs.containsKey(s)) {
        return ns.attrs.get(s);
      }
      if (obj instanceof LoopContext loop) {
        return loop.attribute(s);
      }
    }
    return Undefined.attribute(obj, key);
  }

  static Object call(Object callee, List<Object> args, Map<String, Object> kwargs) {
    if (callee instanceof Undefined u) {
      throw u.fail();
    }
    if (callee instanceof JinjaCallable c) {
      return c.call(args, kwargs);
    }
    throw new TemplateException("'" + Py.typeName(callee) + "' object is not callable");
  }

  static void dictPut(Map<Object, Object> m, Object key, Object value) {
    if (key instanceof List && !(key instanceof PyTuple) || key instanceof Map) {
      throw new TemplateException("unhashable type: '" + Py.typeName(key) + "'");
    }
    for (Object k : m.keySet()) {
      if (Py.eq(k, key)) {
        m.put(k, value);
        return;
      }
    }
    m.put(key, value);
  }

  // ---- arguments ----------------------------------------------------------------------------

  /** Positional-or-keyword argument {@code i} named {@code name}, or {@code dflt}. */
  private static Object arg(
      List<Object> args, Map<String, Object> kwargs, int i, String name, Object dflt) {
    if (i < args.size()) {
      return args.get(i);
    }
    if (kwargs.containsKey(name)) {
      return kwargs.get(name);
    }
    return dflt;
  }

  private static String strArg(Object v, String what) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Undefined u) {
      throw u.fail();
    }
    throw new TemplateException(what + " must be str, not " + Py.typeName(v));
  }

  private static int intArg(Object v, String what) {
    if (Py.isInteger(v)) {
      return (int) Py.asLong(v);
    }
    if (v instanceof Undefined u) {
      throw u.fail();
    }
    throw new TemplateException(what + " must be an integer, not " + Py.typeName(v));
  }

  // ---- methods of str, dict, list -----------------------------------------------------------

  static Object invokeMethod(
      Object self, String name, List<Object> args, Map<String, Object> kwargs) {
    if (self instanceof String s) {
      return strMethod(s, name, args, kwargs);
    }
    if (self instanceof Map<?, ?> m) {
      return switch (name) {
        case "get" -> {
          Object key = arg(args, kwargs, 0, "key", null);
          Object v = Py.item(m, key);
          yield v == Py.NO_ITEM ? arg(args, kwargs, 1, "default", null) : v;
        }
        case "items" -> {
          List<Object> out = new ArrayList<>();
          for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(new PyTuple(e.getKey(), e.getValue()));
          }
          yield out;
        }
        case "keys" -> new ArrayList<Object>(m.keySet());
        case "values" -> new ArrayList<Object>(m.values());
        case "copy" -> new LinkedHashMap<Object, Object>(m);
        default -> throw new TemplateException("dict has no method " + name);
      };
    }
    if (self instanceof List<?> l) {
      return switch (name) {
        case "count" -> {
          long n = 0;
          for (Object o : l) {
            if (Py.eq(o, arg(args, kwargs, 0, "value", null))) {
              n++;
            }
          }
          yield n;
        }
        case "index" -> {
          Object x = arg(args, kwargs, 0, "value", null);
          for (int i = 0; i < l.size(); i++) {
            if (Py.eq(l.get(i), x)) {
              yield (long) i;
            }
          }
          throw new TemplateException(Py.repr(x) + " is not in list");
        }
        case "copy" -> new ArrayList<Object>(l);
        default -> throw new TemplateException("list has no method " + name);
      };
    }
    throw new TemplateException("'" + Py.typeName(self) + "' object has no method " + name);
  }

  private static Object strMethod(
      String s, String name, List<Object> args, Map<String, Object> kwargs) {
    switch (name) {
      case "startswith":
      case "endswith":
        {
          Object prefix = arg(args, kwargs, 0, "prefix", null);
          String sub = sliceForMatch(s, args);
          List<Object> options =
              prefix instanceof PyTuple t ? t : List.of(strArg(prefix, name + " first arg"));
          for (Object o : options) {
            String p = strArg(o, name + " first arg");
            if (name.equals("startswith") ? sub.startsWith(p) : sub.endsWith(p)) {
              return true;
            }
          }
          return false;
        }
      case "strip":
        return Py.strip(s, charsArg(args, kwargs));
      case "lstrip":
        return Py.lstrip(s, charsArg(args, kwargs));
      case "rstrip":
        return Py.rstrip(s, charsArg(args, kwargs));
      case "split":
      case "rsplit":
        {
          Object sep = arg(args, kwargs, 0, "sep", null);
          int max = intArg(arg(args, kwargs, 1, "maxsplit", -1L), "maxsplit");
          return name.equals("split")
              ? split(s, sep == null ? null : strArg(sep, "sep"), max)
              : rsplit(s, sep == null ? null : strArg(sep, "sep"), max);
        }
      case "lower":
        return s.toLowerCase(Locale.ROOT);
      case "casefold":
        return s.toLowerCase(Locale.ROOT);
      case "upper":
        return s.toUpperCase(Locale.ROOT);
      case "title":
        return title(s);
      case "capitalize":
        return capitalize(s);
      case "swapcase":
        {
          StringBuilder sb = new StringBuilder();
          s.codePoints()
              .forEach(
                  cp ->
                      sb.appendCodePoint(
                          Character.isUpperCase(cp)
                              ? Character.toLowerCase(cp)
                              : Character.toUpperCase(cp)));
          return sb.toString();
        }
      case "replace":
        {
          String old = strArg(arg(args, kwargs, 0, "old", null), "replace() argument 1");
          String neu = strArg(arg(args, kwargs, 1, "new", null), "replace() argument 2");
          int count = intArg(arg(args, kwargs, 2, "count", -1L), "count");
          return replace(s, old, neu, count);
        }
      case "find":
      case "index":
        {
          int i = s.indexOf(strArg(arg(args, kwargs, 0, "sub", null), name + " argument"));
          if (i < 0 && name.equals("index")) {
            throw new TemplateException("substring not found");
          }
          return (long) (i < 0 ? -1 : s.codePointCount(0, i));
        }
      case "rfind":
      case "rindex":
        {
          int i = s.lastIndexOf(strArg(arg(args, kwargs, 0, "sub", null), name + " argument"));
          if (i < 0 && name.equals("rindex")) {
            throw new TemplateException("substring not found");
          }
          return (long) (i < 0 ? -1 : s.codePointCount(0, i));
        }
      case "count":
        {
          String sub = strArg(arg(args, kwargs, 0, "sub", null), "count argument");
          if (sub.isEmpty()) {
            return (long) s.codePointCount(0, s.length()) + 1;
          }
          long n = 0;
          for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
            n++;
          }
          return n;
        }
      case "join":
        {
          StringBuilder sb = new StringBuilder();
          List<Object> items = Py.iterate(arg(args, kwargs, 0, "iterable", null));
          for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
              sb.append(s);
            }
            sb.append(strArg(items.get(i), "sequence item " + i));
          }
          return sb.toString();
        }
      case "splitlines":
        {
          List<Object> out = new ArrayList<>();
          if (s.isEmpty()) {
            return out;
          }
          for (String part :
              s.split("\r\n|[\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]", -1)) {
            out.add(part);
          }
          if (((String) out.get(out.size() - 1)).isEmpty()) {
            out.remove(out.size() - 1);
          }
          return out;
        }
      case "isdigit":
      case "isnumeric":
      case "isdecimal":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      case "isalpha":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
      case "isalnum":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
      case "isspace":
        return !s.isEmpty() && s.chars().allMatch(c -> Py.isSpace((char) c));
      case "islower":
        return s.codePoints().anyMatch(Character::isLowerCase)
            && s.codePoints().noneMatch(c -> Character.isUpperCase(c) || Character.isTitleCase(c));
      case "isupper":
        return s.codePoints().anyMatch(Character::isUpperCase)
            && s.codePoints().noneMatch(c -> Character.isLowerCase(c) || Character.isTitleCase(c));
      case "zfill":
        {
          int width = intArg(arg(args, kwargs, 0, "width", null), "width");
          int len = s.codePointCount(0, s.length());
          if (len >= width) {
            return s;
          }
          String fill = "0".repeat(width - len);
          if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            return s.charAt(0) + fill + s.substring(1);
          }
          return fill + s;
        }
      case "ljust":
      case "rjust":
      case "center":
        {
          int width = intArg(arg(args, kwargs, 0, "width", null), "width");
          String fill = strArg(arg(args, kwargs, 1, "fillchar", " "), "fillchar");
          int len = s.codePointCount(0, s.length());
          if (len >= width) {
            return s;
          }
          int total = width - len;
          if (name.equals("ljust")) {
            return s + fill.repeat(total);
          }
          if (name.equals("rjust")) {
            return fill.repeat(total) + s;
          }
          int left = total / 2 + (total & width & 1);
          return fill.repeat(left) + s + fill.repeat(total - left);
        }
      case "removeprefix":
        {
          String p = strArg(arg(args, kwargs, 0, "prefix", null), "prefix");
          return s.startsWith(p) ? s.substring(p.length()) : s;
        }
      case "removesuffix":
        {
          String p = strArg(arg(args, kwargs, 0, "suffix", null), "suffix");
          return s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
        }
      case "partition":
      case "rpartition":
        {
          String sep = strArg(arg(args, kwargs, 0, "sep", null), "sep");
          int i = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
          if (i < 0) {
            return name.equals("partition") ? new PyTuple(s, "", "") : new PyTuple("", "", s);
          }
          return new PyTuple(s.substring(0, i), sep, s.substring(i + sep.length()));
        }
      default:
        throw new TemplateException("'str' object has no method " + name);
    }
  }

  private static String sliceForMatch(String s, List<Object> args) {
    if (args.size() < 2) {
      return s;
    }
    Object sub = Py.slice(s, args.get(1), args.size() > 2 ? args.get(2) : null, null);
    return (String) sub;
  }

  private static String charsArg(List<Object> args, Map<String, Object> kwargs) {
    Object chars = arg(args, kwargs, 0, "chars", null);
    return chars == null ? null : strArg(chars, "strip arg");
  }

  static List<Object> split(String s, String sep, int max) {
    List<Object> out = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && Py.isSpace(s.charAt(i))) {
          i++;
        }
        if (i >= n) {
          break;
        }
        if (max >= 0 && out.size() == max) {
          out.add(Py.rstrip(s.substring(i), null));
          break;
        }
        int j = i;
        while (j < n && !Py.isSpace(s.charAt(j))) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      }
      return out;
    }
    if (sep.isEmpty()) {
      throw new TemplateException("empty separator");
    }
    int from = 0;
    while (max < 0 || out.size() < max) {
      int i = s.indexOf(sep, from);
      if (i < 0) {
        break;
      }
      out.add(s.substring(from, i));
      from = i + sep.length();
    }
    out.add(s.substring(from));
    return out;
  }

  private static List<Object> rsplit(String s, String sep, int max) {
    if (max < 0) {
      return split(s, sep, max);
    }
    List<Object> out = new ArrayList<>();
    if (sep == null) {
      int j = s.length();
      while (true) {
        while (j > 0 && Py.isSpace(s.charAt(j - 1))) {
          j--;
        }
        if (j <= 0) {
          break;
        }
        if (out.size() == max) {
          out.add(0, Py.lstrip(s.substring(0, j), null));
          break;
        }
        int i = j;
        while (i > 0 && !Py.isSpace(s.charAt(i - 1))) {
          i--;
        }
        out.add(0, s.substring(i, j));
        j = i;
      }
      return out;
    }
    if (sep.isEmpty()) {
      throw new TemplateException("empty separator");
    }
    int to = s.length();
    while (out.size() < max) {
      int i = s.lastIndexOf(sep, to - sep.length());
      if (i < 0) {
        break;
      }
      out.add(0, s.substring(i + sep.length(), to));
      to = i;
    }
    out.add(0, s.substring(0, to));
    return out;
  }

  private static String replace(String s, String old, String neu, int count) {
    if (count < 0) {
      if (old.isEmpty()) {
        StringBuilder sb = new StringBuilder(neu);
        for (Object c : Py.chars(s)) {
          sb.append((String) c).append(neu);
        }
        return sb.toString();
      }
      return s.replace(old, neu);
    }
    StringBuilder sb = new StringBuilder();
    int from = 0;
    int n = 0;
    if (old.isEmpty()) {
      List<Object> chars = Py.chars(s);
      for (int i = 0; i <= chars.size(); i++) {
        if (n < count) {
          sb.append(neu);
          n++;
        }
        if (i < chars.size()) {
          sb.append((String) chars.get(i));
        }
      }
      return sb.toString();
    }
    while (n < count) {
      int i = s.indexOf(old, from);
      if (i < 0) {
        break;
      }
      sb.append(s, from, i).append(neu);
      from = i + old.length();
      n++;
    }
    return sb.append(s.substring(from)).toString();
  }

  private static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    int n = Character.charCount(first);
    return new StringBuilder()
        .appendCodePoint(Character.toTitleCase(first))
        .append(s.substring(n).toLowerCase(Locale.ROOT))
        .toString();
  }

  private static String title(String s) {
    StringBuilder sb = new StringBuilder();
    boolean prevCased = false;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      boolean cased =
          Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
      if (cased) {
        sb.appendCodePoint(prevCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
      } else {
        sb.appendCodePoint(cp);
      }
      prevCased = cased;
    }
    return sb.toString();
  }

  // ---- filters ------------------------------------------------------------------------------

  private static final Set<String> FILTERS =
      Set.of(
          "abs",
          "attr",
          "batch",
          "capitalize",
          "center",
          "count",
          "d",
          "default",
          "dictsort",
          "e",
          "escape",
          "first",
          "float",
          "format",
          "indent",
          "int",
          "items",
          "join",
          "last",
          "length",
          "list",
          "lower",
          "map",
          "max",
          "min",
          "reject",
          "rejectattr",
          "replace",
          "reverse",
          "round",
          "safe",
          "select",
          "selectattr",
          "sort",
          "string",
          "sum",
          "title",
          "tojson",
          "trim",
          "truncate",
          "unique",
          "upper",
          "wordcount");

  static boolean hasFilter(String name) {
    return FILTERS.contains(name);
  }

  static Object filter(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
    switch (name) {
      case "abs":
        if (Py.isInteger(v)) {
          return Math.abs(Py.asLong(v));
        }
        if (v instanceof Double d) {
          return Math.abs(d);
        }
        throw new TemplateException("bad operand type for abs(): '" + Py.typeName(v) + "'");
      case "attr":
        return getattr(v, strArg(arg(args, kwargs, 0, "name", null), "attr name"));
      case "batch":
        {
          int size = intArg(arg(args, kwargs, 0, "linecount", null), "linecount");
          Object fill = arg(args, kwargs, 1, "fill_with", null);
          List<Object> out = new ArrayList<>();
          List<Object> row = new ArrayList<>();
          for (Object o : Py.iterate(v)) {
            if (row.size() == size) {
              out.add(row);
              row = new ArrayList<>();
            }
            row.add(o);
          }
          if (!row.isEmpty()) {
            if (fill != null) {
              while (row.size() < size) {
                row.add(fill);
              }
            }
            out.add(row);
          }
          return out;
        }
      case "capitalize":
        return capitalize(Py.str(v));
      case "center":
        return strMethod(
            Py.str(v), "center", List.of(arg(args, kwargs, 0, "width", 80L)), Map.of());
      case "count":
      case "length":
        return (long) Py.len(v);
      case "d":
      case "default":
        {
          Object dflt = arg(args, kwargs, 0, "default_value", "");
          boolean bool = Py.truthy(arg(args, kwargs, 1, "boolean", false));
          if (v instanceof Undefined || (bool && !Py.truthy(v))) {
            return dflt;
          }
          return v;
        }
      case "dictsort":
        {
          boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
          String by = strArg(arg(args, kwargs, 1, "by", "key"), "by");
          boolean reverse = Py.truthy(arg(args, kwargs, 2, "reverse", false));
          List<Object> items = dictItems(v);
          int pos = by.equals("key") ? 0 : 1;
          items.sort(
              (a, b) ->
                  Py.compare(
                      sortKey(((List<?>) a).get(pos), caseSensitive),
                      sortKey(((List<?>) b).get(pos), caseSensitive),
                      "<"));
          if (reverse) {
            java.util.Collections.reverse(items);
          }
          return items;
        }
      case "e":
      case "escape":
        return Py.str(v)
            .replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("\"", "&#34;")
            .replace("'", "&#39;");
      case "first":
        {
          List<Object> items = Py.iterate(v);
          return items.isEmpty()
              ? new Undefined("No first item, sequence was empty.")
              : items.get(0);
        }
      case "last":
        {
          List<Object> items = Py.iterate(v);
          return items.isEmpty()
              ? new Undefined("No last item, sequence was empty.")
              : items.get(items.size() - 1);
        }
      case "float":
        return toFloat(v, arg(args, kwargs, 0, "default", 0.0));
      case "int":
        return toInt(v, arg(args, kwargs, 0, "default", 0L), arg(args, kwargs, 1, "base", 10L));
      case "format":
        return Py.mod(Py.str(v), args.size() == 1 ? args.get(0) : new PyTuple(args));
      case "indent":
        return indent(
            Py.str(v),
            arg(args, kwargs, 0, "width", 4L),
            Py.truthy(arg(args, kwargs, 1, "first", false)),
            Py.truthy(arg(args, kwargs, 2, "blank", false)));
      case "items":
        return v instanceof Undefined ? new ArrayList<>() : dictItems(v);
      case "join":
        {
          String d = Py.str(arg(args, kwargs, 0, "d", ""));
          Object attribute = arg(args, kwargs, 1, "attribute", null);
          StringBuilder sb = new StringBuilder();
          boolean first = true;
          for (Object o : Py.iterate(v)) {
            if (!first) {
              sb.append(d);
            }
            first = false;
            sb.append(Py.str(attribute == null ? o : attribute(o, attribute)));
          }
          return sb.toString();
        }
      case "list":
        return Py.iterate(v);
      case "lower":
        return Py.str(v).toLowerCase(Locale.ROOT);
      case "upper":
        return Py.str(v).toUpperCase(Locale.ROOT);
      case "title":
        return title(Py.str(v));
      case "map":
        return map(v, args, kwargs);
      case "max":
      case "min":
        {
          boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
          Object attribute = arg(args, kwargs, 1, "attribute", null);
          List<Object> items = Py.iterate(v);
          if (items.isEmpty()) {
            return new Undefined("No aggregated item, sequence was empty.");
          }
          Object best = items.get(0);
          for (Object o : items.subList(1, items.size())) {
            int c =
                Py.compare(
                    sortKey(attribute == null ? o : attribute(o, attribute), caseSensitive),
                    sortKey(attribute == null ? best : attribute(best, attribute), caseSensitive),
                    "<");
            if (name.equals("max") ? c > 0 : c < 0) {
              best = o;
            }
          }
          return best;
        }
      case "select":
      case "reject":
        return selectOrReject(v, args, kwargs, name.equals("select"), false);
      case "selectattr":
      case "rejectattr":
        return selectOrReject(v, args, kwargs, name.equals("selectattr"), true);
      case "replace":
        {
          String old = Py.str(arg(args, kwargs, 0, "old", null));
          String neu = Py.str(arg(args, kwargs, 1, "new", null));
          Object count = arg(args, kwargs, 2, "count", null);
          return replace(Py.str(v), old, neu, count == null ? -1 : intArg(count, "count"));
        }
      case "reverse":
        {
          if (v instanceof String s) {
            return Py.slice(s, null, null, -1L);
          }
          List<Object> items = Py.iterate(v);
          java.util.Collections.reverse(items);
          return items;
        }
      case "round":
        {
          int precision = intArg(arg(args, kwargs, 0, "precision", 0L), "precision");
          String method = strArg(arg(args, kwargs, 1, "method", "common"), "method");
          if (!Py.isNumber(v)) {
            throw new TemplateException("round: expected a number, not " + Py.typeName(v));
          }
          if (Py.isInteger(v) && method.equals("common")) {
            return Py.asLong(v);
          }
          BigDecimal bd = new BigDecimal(Py.asDouble(v));
          RoundingMode mode =
              switch (method) {
                case "common" -> RoundingMode.HALF_EVEN;
                case "ceil" -> RoundingMode.CEILING;
                case "floor" -> RoundingMode.FLOOR;
                default -> throw new TemplateException("method must be common, ceil or floor");
              };
          if (method.equals("common")) {
            return bd.setScale(precision, RoundingMode.HALF_EVEN).doubleValue();
          }
          return bd.setScale(precision, mode).doubleValue();
        }
      case "safe":
        return v;
      case "sort":
        {
          boolean reverse = Py.truthy(arg(args, kwargs, 0, "reverse", false));
          boolean caseSensitive = Py.truthy(arg(args, kwargs, 1, "case_sensitive", false));
          Object attribute = arg(args, kwargs, 2, "attribute", null);
          List<Object> items = Py.iterate(v);
          Comparator<Object> cmp =
              (a, b) ->
                  Py.compare(
                      sortKey(attribute == null ? a : attribute(a, attribute), caseSensitive),
                      sortKey(attribute == null ? b : attribute(b, attribute), caseSensitive),
                      "<");
          items.sort(reverse ? cmp.reversed() : cmp);
          return items;
        }
      case "string":
        return Py.str(v);
      case "sum":
        {
          Object attribute = arg(args, kwargs, 0, "attribute", null);
          Object total = arg(args, kwargs, 1, "start", 0L);
          for (Object o : Py.iterate(v)) {
            total = Py.add(total, attribute == null ? o : attribute(o, attribute));
          }
          return total;
        }
      case "tojson":
        {
          Object ensureAscii = arg(args, kwargs, 99, "ensure_ascii", false);
          Object indent = arg(args, kwargs, 0, "indent", null);
          Object separators = arg(args, kwargs, 99, "separators", null);
          Object sortKeys = arg(args, kwargs, 99, "sort_keys", false);
          return new Json(
                  Py.truthy(ensureAscii),
                  indent,
                  separators == null ? null : Py.iterate(separators),
                  Py.truthy(sortKeys))
              .dumps(v);
        }
      case "trim":
        {
          Object chars = arg(args, kwargs, 0, "chars", null);
          return Py.strip(Py.str(v), chars == null ? null : Py.str(chars));
        }
      case "truncate":
        return truncate(
            Py.str(v),
            intArg(arg(args, kwargs, 0, "length", 255L), "length"),
            Py.truthy(arg(args, kwargs, 1, "killwords", false)),
            Py.str(arg(args, kwargs, 2, "end", "...")),
            arg(args, kwargs, 3, "leeway", 5L));
      case "unique":
        {
          boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
          Object attribute = arg(args, kwargs, 1, "attribute", null);
          List<Object> out = new ArrayList<>();
          List<Object> seen = new ArrayList<>();
          for (Object o : Py.iterate(v)) {
            Object key = sortKey(attribute == null ? o : attribute(o, attribute), caseSensitive);
            boolean dup = false;
            for (Object k : seen) {
              if (Py.eq(k, key)) {
                dup = true;
                break;
              }
            }
            if (!dup) {
              seen.add(key);
              out.add(o);
            }
          }
          return out;
        }
      case "wordcount":
        return (long) split(Py.str(v), null, -1).size();
      default:
        throw new TemplateException("no filter named '" + name + "'");
    }
  }

  private static Object sortKey(Object v, boolean caseSensitive) {
    if (!caseSensitive && v instanceof String s) {
      return s.toLowerCase(Locale.ROOT);
    }
    return v;
  }

  /** Jinja's attribute lookup for filters: dotted paths, integer parts as indices. */
  private static Object attribute(Object item, Object attribute) {
    if (Py.isInteger(attribute)) {
      return getitem(item, attribute);
    }
    Object v = item;
    for (String part : Py.str(attribute).split("\\.")) {
      Object key = part;
      if (!part.isEmpty() && part.chars().allMatch(Character::isDigit)) {
        key = Long.parseLong(part);
      }
      v = getitem(v, key);
    }
    return v;
  }

  private static List<Object> dictItems(Object v) {
    if (!(v instanceof Map<?, ?> m)) {
      throw new TemplateException("can only get item pairs from a mapping.");
    }
    List<Object> out = new ArrayList<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      out.add(new PyTuple(e.getKey(), e.getValue()));
    }
    return out;
  }

  private static Object map(Object v, List<Object> args, Map<String, Object> kwargs) {
    List<Object> out = new ArrayList<>();
    if (args.isEmpty() && kwargs.containsKey("attribute")) {
      Object attribute = kwargs.get("attribute");
      boolean hasDefault = kwargs.containsKey("default");
      for (Object o : Py.iterate(v)) {
        Object val = attribute(o, attribute);
        if (hasDefault && val instanceof Undefined) {
          val = kwargs.get("default");
        }
        out.add(val);
      }
      return out;
    }
    if (args.isEmpty()) {
      throw new TemplateException("map requires a filter argument");
    }
    String filterName = strArg(args.get(0), "map filter");
    if (!hasFilter(filterName)) {
      throw new TemplateException("no filter named '" + filterName + "'");
    }
    List<Object> rest = args.subList(1, args.size());
    for (Object o : Py.iterate(v)) {
      out.add(filter(filterName, o, rest, kwargs));
    }
    return out;
  }

  private static List<Object> selectOrReject(
      Object v, List<Object> args, Map<String, Object> kwargs, boolean select, boolean byAttr) {
    int off = 0;
    Object attribute = null;
    if (byAttr) {
      if (args.isEmpty()) {
        throw new TemplateException("missing parameter for attribute name");
      }
      attribute = args.get(0);
      off = 1;
    }
    String testName = args.size() > off ? strArg(args.get(off), "test name") : null;
    if (testName != null && !hasTest(testName)) {
      throw new TemplateException("no test named '" + testName + "'");
    }
    List<Object> testArgs = args.size() > off + 1 ? args.subList(off + 1, args.size()) : List.of();
    List<Object> out = new ArrayList<>();
    for (Object o : Py.iterate(v)) {
      Object subject = byAttr ? attribute(o, attribute) : o;
      boolean ok =
          testName == null ? Py.truthy(subject) : test(testName, subject, testArgs, kwargs);
      if (ok == select) {
        out.add(o);
      }
    }
    return out;
  }

  private static Object toFloat(Object v, Object dflt) {
    if (v instanceof Double) {
      return v;
    }
    if (Py.isInteger(v)) {
      return (double) Py.asLong(v);
    }
    if (v instanceof String s) {
      try {
        return Double.parseDouble(Py.strip(s, null).replace("_", ""));
      } catch (NumberFormatException e) {
        return dflt;
      }
    }
    return dflt;
  }

  private static Object toInt(Object v, Object dflt, Object base) {
    if (Py.isInteger(v)) {
      return Py.asLong(v);
    }
    if (v instanceof Double d) {
      return (long) d.doubleValue();
    }
    if (v instanceof String s) {
      String t = Py.strip(s, null).replace("_", "");
      try {
        return Long.parseLong(t, intArg(base, "base"));
      } catch (NumberFormatException e) {
        try {
          return (long) Double.parseDouble(t);
        } catch (NumberFormatException e2) {
          return dflt;
        }
      }
    }
    return dflt;
  }

  /** Jinja's {@code indent}: every line but the first (unless {@code first}), blank ones kept. */
  @SuppressWarnings("unchecked")
  private static String indent(String s, Object width, boolean first, boolean blank) {
    String pad = width instanceof String w ? w : " ".repeat(intArg(width, "width"));
    List<Object> lines = (List<Object>) strMethod(s + "\n", "splitlines", List.of(), Map.of());
    StringBuilder rv = new StringBuilder();
    for (int i = 0; i < lines.size(); i++) {
      String line = (String) lines.get(i);
      if (i > 0) {
        rv.append('\n');
        if (blank || !line.isEmpty()) {
          rv.append(pad);
        }
      }
      rv.append(line);
    }
    return first ? pad + rv : rv.toString();
  }

  private static String truncate(
      String s, int length, boolean killwords, String end, Object leeway) {
    int lee = intArg(leeway == null ? 5L : leeway, "leeway");
    if (s.length() <= length + lee) {
      return s;
    }
    if (killwords) {
      return s.substring(0, Math.max(0, length - end.length())) + end;
    }
    String cut = s.substring(0, Math.max(0, length - end.length()));
    int sp = cut.lastIndexOf(' ');
    if (sp >= 0) {
      cut = cut.substring(0, sp);
    }
    return cut + end;
  }

  // ---- tests --------------------------------------------------------------------------------

  private static final Set<String> TESTS =
      Set.of(
          "boolean",
          "callable",
          "defined",
          "divisibleby",
          "eq",
          "equalto",
          "==",
          "escaped",
          "even",
          "false",
          "filter",
          "float",
          "ge",
          ">=",
          "gt",
          "greaterthan",
          ">",
          "in",
          "integer",
          "iterable",
          "le",
          "<=",
          "lower",
          "lt",
          "lessthan",
          "<",
          "mapping",
          "ne",
          "!=",
          "none",
          "number",
          "odd",
          "sameas",
          "sequence",
          "string",
          "test",
          "true",
          "undefined",
          "upper");

  static boolean hasTest(String name) {
    return TESTS.contains(name);
  }

  static boolean test(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
    Object other = args.isEmpty() ? kwargs.getOrDefault("other", null) : args.get(0);
    switch (name) {
      case "boolean":
        return v instanceof Boolean;
      case "callable":
        return v instanceof JinjaCallable;
      case "defined":
        return !(v instanceof Undefined);
      case "undefined":
        return v instanceof Undefined;
      case "divisibleby":
        return Py.truthy(Py.eq(Py.mod(v, other), 0L));
      case "eq":
      case "equalto":
      case "==":
        return Py.eq(v, other);
      case "ne":
      case "!=":
        return !Py.eq(v, other);
      case "escaped":
        return false;
      case "even":
        return Py.asLong(integer(v)) % 2 == 0;
      case "odd":
        return Py.asLong(integer(v)) % 2 != 0;
      case "false":
        return Boolean.FALSE.equals(v);
      case "true":
        return Boolean.TRUE.equals(v);
      case "filter":
        return v instanceof String s && hasFilter(s);
      case "test":
        return v instanceof String s && hasTest(s);
      case "float":
        return v instanceof Double;
      case "integer":
        return v instanceof Long;
      case "number":
        return Py.isNumber(v);
      case "ge":
      case ">=":
        return Py.compare(v, other, ">=") >= 0;
      case "gt":
      case "greaterthan":
      case ">":
        return Py.compare(v, other, ">") > 0;
      case "le":
      case "<=":
        return Py.compare(v, other, "<=") <= 0;
      case "lt":
      case "lessthan":
      case "<":
        return Py.compare(v, other, "<") < 0;
      case "in":
        return Py.contains(other, v);
      case "iterable":
        return v instanceof String
            || v instanceof List
            || v instanceof Map
            || v instanceof Undefined;
      case "sequence":
        return v instanceof String
            || v instanceof List
            || v instanceof Map
            || v instanceof Undefined;
      case "mapping":
        return v instanceof Map;
      case "none":
        return v == null;
      case "string":
        return v instanceof String;
      case "lower":
        return (Boolean) strMethod(Py.str(v), "islower", List.of(), Map.of());
      case "upper":
        return (Boolean) strMethod(Py.str(v), "isupper", List.of(), Map.of());
      case "sameas":
        if (v == null || other == null) {
          return v == other;
        }
        if (v instanceof Boolean || other instanceof Boolean) {
          return v.equals(other);
        }
        if (v instanceof Long && other instanceof Long) {
          return v.equals(other);
        }
        return v == other;
      default:
        throw new TemplateException("no test named '" + name + "'");
    }
  }

  private static Object integer(Object v) {
    if (Py.isInteger(v)) {
      return v;
    }
    if (v instanceof Undefined u) {
      throw u.fail();
    }
    throw new TemplateException("unsupported operand type for %: '" + Py.typeName(v) + "'");
  }
}
