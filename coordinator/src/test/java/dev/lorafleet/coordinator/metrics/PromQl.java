package dev.lorafleet.coordinator.metrics;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough PromQL reading for tests: the metric names an expression selects. Label matchers,
 * ranges, label lists of {@code by/on/…}, string literals, Grafana variables, function names,
 * keywords and numbers are not metric names.
 */
final class PromQl {

  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "offset",
          "bool",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan",
          "atan2");
  private static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_VALUES =
      Pattern.compile(
          "^\\s*label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*\\w+\\s*\\)\\s*$");

  private PromQl() {}

  /** The metric names {@code expr} reads. */
  static Set<String> metricNames(String expr) {
    Matcher lv = LABEL_VALUES.matcher(expr);
    if (lv.matches()) {
      return Set.of(lv.group(1));
    }
    String s = expr;
    s = s.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", " ");
    s = s.replaceAll("\\{[^}]*}", " ");
    s = s.replaceAll("\\[[^\\]]*]", " ");
    s = s.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
    s = s.replaceAll("\\$\\{?\\w+}?", " ");
    Set<String> names = new LinkedHashSet<>();
    Matcher m = IDENT.matcher(s);
    while (m.find()) {
      String word = m.group();
      if (m.start() > 0 && isNumberPart(s.charAt(m.start() - 1))) {
        continue; // the "e" of 2e-4, the "m" of 5m
      }
      if (KEYWORDS.contains(word.toLowerCase(java.util.Locale.ROOT))) {
        continue;
      }
      int next = m.end();
      while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
        next++;
      }
      if (next < s.length() && s.charAt(next) == '(') {
        continue; // a function
      }
      names.add(word);
    }
    return names;
  }

  /**
   * The selectors ({@code name{matchers}}) of {@code expr}, for checking that each returns data.
   */
  static Set<String> selectors(String expr) {
    Set<String> out = new LinkedHashSet<>();
    for (String name : metricNames(expr)) {
      Matcher m =
          Pattern.compile(
                  "(?<![a-zA-Z0-9_:])" + Pattern.quote(name) + "(?![a-zA-Z0-9_:])(\\{[^}]*})?")
              .matcher(expr);
      while (m.find()) {
        out.add(m.group());
      }
    }
    return out;
  }

  private static boolean isNumberPart(char c) {
    return Character.isDigit(c) || c == '.';
  }
}
