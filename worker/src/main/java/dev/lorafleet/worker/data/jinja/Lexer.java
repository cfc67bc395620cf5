package dev.lorafleet.worker.data.jinja;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens the way Jinja2's lexer does with {@code trim_blocks=True} and
 * {@code lstrip_blocks=True}: newlines normalised, one trailing newline dropped, {@code -}/{@code
 * +} whitespace control, the first newline after a block or comment tag removed, and the
 * indentation before a block or comment tag on its own line stripped.
 */
final class Lexer {
  private static final Pattern FLOAT =
      Pattern.compile(
          "(?<!\\.)(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
  private static final Pattern INTEGER =
      Pattern.compile("0[bB](_?[01])+|0[oO](_?[0-7])+|0[xX](_?[\\da-fA-F])+|[1-9](_?\\d)*|0(_?0)*");
  private static final Pattern STRING =
      Pattern.compile(
          "'([^'\\\\]*(?:\\\\.[^'\\\\]*)*)'|\"([^\"\\\\]*(?:\\\\.[^\"\\\\]*)*)\"", Pattern.DOTALL);
  private static final String[] OPERATORS = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    ">", "<", "=", ".", ":", "|", ",", ";"
  };
  private static final Pattern RAW_BEGIN = Pattern.compile("\\{%([-+]?)\\s*raw\\s*(-?)%}");
  private static final Pattern RAW_END = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%}");

  private final String src;
  private int pos;
  private int line = 1;
  private boolean lineStarting = true;
  private final List<Token> tokens = new ArrayList<>();

  Lexer(String source) {
    String s = source.replace("\r\n", "\n").replace('\r', '\n');
    if (s.endsWith("\n")) {
      s = s.substring(0, s.length() - 1);
    }
    this.src = s;
  }

  List<Token> tokenize() {
    int len = src.length();
    while (pos < len) {
      int open = nextOpen(pos);
      if (open < 0) {
        text(src.substring(pos));
        pos = len;
        break;
      }
      String text = src.substring(pos, open);
      char kind = src.charAt(open + 1);
      char sign = open + 2 < len ? src.charAt(open + 2) : 0;
      boolean hasSign = sign == '-' || sign == '+';
      Matcher raw = kind == '%' ? RAW_BEGIN.matcher(src).region(open, len) : null;
      boolean isRaw = raw != null && raw.lookingAt();
      if (hasSign && sign == '-') {
        text = Py.rstrip(text, null);
      } else if (!(hasSign && sign == '+') && kind != '{') {
        int lPos = text.lastIndexOf('\n') + 1;
        if ((lPos > 0 || lineStarting) && lPos < text.length() && isAllSpace(text, lPos)) {
          text = text.substring(0, lPos);
        }
      }
      text(text);
      line += count(src, pos, open);
      pos = open + 2 + (hasSign ? 1 : 0);
      lineStarting = false;
      if (isRaw) {
        raw(raw);
      } else if (kind == '#') {
        comment();
      } else if (kind == '%') {
        tokens.add(new Token(Token.Type.BLOCK_BEGIN, "{%", line));
        tag(true);
      } else {
        tokens.add(new Token(Token.Type.VAR_BEGIN, "{{", line));
        tag(false);
      }
    }
    tokens.add(new Token(Token.Type.EOF, "", line));
    return tokens;
  }

  private int nextOpen(int from) {
    int i = src.indexOf('{', from);
    while (i >= 0 && i + 1 < src.length()) {
      char c = src.charAt(i + 1);
      if (c == '{' || c == '%' || c == '#') {
        return i;
      }
      i = src.indexOf('{', i + 1);
    }
    return -1;
  }

  private void text(String t) {
    if (!t.isEmpty()) {
      tokens.add(new Token(Token.Type.TEXT, t, line));
    }
  }

  private void comment() {
    int end = src.indexOf("#}", pos);
    if (end < 0) {
      throw new TemplateException("missing end of comment tag", line);
    }
    int after = end + 2;
    char before = end > pos ? src.charAt(end - 1) : 0;
    if (before == '-') {
      after = skipSpace(after);
    } else if (before != '+' && after < src.length() && src.charAt(after) == '\n') {
      after++;
    }
    finishTag(after);
  }

  private void raw(Matcher begin) {
    int bodyStart = begin.end();
    if (begin.group(2).equals("-")) {
      bodyStart = skipSpace(bodyStart);
    }
    Matcher end = RAW_END.matcher(src);
    if (!end.find(bodyStart)) {
      throw new TemplateException("missing end of raw directive", line);
    }
    String body = src.substring(bodyStart, end.start());
    if (end.group(1).equals("-")) {
      body = Py.rstrip(body, null);
    }
    line += count(src, pos, end.start());
    text(body);
    int after = end.end();
    if (end.group(2).equals("-")) {
      after = skipSpace(after);
    } else if (end.group(2).isEmpty() && after < src.length() && src.charAt(after) == '\n') {
      after++;
    }
    finishTag(after);
  }

  /** Tokens of an expression tag up to its end marker. */
  private void tag(boolean block) {
    Deque<Character> brackets = new ArrayDeque<>();
    int len = src.length();
    while (true) {
      int ws = skipSpace(pos);
      line += count(src, pos, ws);
      pos = ws;
      if (pos >= len) {
        throw new TemplateException(
            "unexpected end of template, expected '" + (block ? "%}" : "}}") + "'", line);
      }
      if (brackets.isEmpty()) {
        if (block && src.startsWith("-%}", pos)) {
          tokens.add(new Token(Token.Type.BLOCK_END, "%}", line));
          finishTag(skipSpace(pos + 3));
          return;
        }
        if (block && src.startsWith("+%}", pos)) {
          tokens.add(new Token(Token.Type.BLOCK_END, "%}", line));
          finishTag(pos + 3);
          return;
        }
        if (block && src.startsWith("%}", pos)) {
          tokens.add(new Token(Token.Type.BLOCK_END, "%}", line));
          int after = pos + 2;
          if (after < len && src.charAt(after) == '\n') {
            after++;
          }
          finishTag(after);
          return;
        }
        if (!block && src.startsWith("-}}", pos)) {
          tokens.add(new Token(Token.Type.VAR_END, "}}", line));
          finishTag(skipSpace(pos + 3));
          return;
        }
        if (!block && src.startsWith("}}", pos)) {
          tokens.add(new Token(Token.Type.VAR_END, "}}", line));
          finishTag(pos + 2);
          return;
        }
      }
      Matcher m;
      if ((m = at(FLOAT)) != null) {
        tokens.add(new Token(Token.Type.FLOAT, m.group().replace("_", ""), line));
        pos = m.end();
      } else if ((m = at(INTEGER)) != null) {
        tokens.add(new Token(Token.Type.INTEGER, m.group().replace("_", ""), line));
        pos = m.end();
      } else if (isNameStart(src.charAt(pos))) {
        int end = pos + 1;
        while (end < len && isNamePart(src.charAt(end))) {
          end++;
        }
        tokens.add(new Token(Token.Type.NAME, src.substring(pos, end), line));
        pos = end;
      } else if ((m = at(STRING)) != null) {
        String body = m.group(1) != null ? m.group(1) : m.group(2);
        tokens.add(new Token(Token.Type.STRING, unescape(body), line));
        line += count(src, pos, m.end());
        pos = m.end();
      } else {
        String op = operatorAt();
        if (op == null) {
          throw new TemplateException("unexpected char '" + src.charAt(pos) + "'", line);
        }
        char c = op.charAt(0);
        if (op.length() == 1 && (c == '(' || c == '[' || c == '{')) {
          brackets.push(c);
        } else if (op.length() == 1 && (c == ')' || c == ']' || c == '}')) {
          char want = c == ')' ? '(' : c == ']' ? '[' : '{';
          if (brackets.isEmpty() || brackets.pop() != want) {
            throw new TemplateException("unexpected '" + c + "'", line);
          }
        }
        tokens.add(new Token(Token.Type.OPERATOR, op, line));
        pos += op.length();
      }
    }
  }

  private void finishTag(int after) {
    line += count(src, pos, after);
    lineStarting = after > 0 && src.charAt(after - 1) == '\n';
    pos = after;
  }

  private Matcher at(Pattern p) {
    Matcher m = p.matcher(src);
    m.region(pos, src.length());
    m.useTransparentBounds(true);
    m.useAnchoringBounds(false);
    return m.lookingAt() ? m : null;
  }

  private String operatorAt() {
    for (String op : OPERATORS) {
      if (src.startsWith(op, pos)) {
        return op;
      }
    }
    return null;
  }

  private int skipSpace(int from) {
    int i = from;
    while (i < src.length() && Py.isSpace(src.charAt(i))) {
      i++;
    }
    return i;
  }

  private static boolean isAllSpace(String s, int from) {
    for (int i = from; i < s.length(); i++) {
      if (!Py.isSpace(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isNameStart(char c) {
    return c == '_' || Character.isLetter(c);
  }

  private static boolean isNamePart(char c) {
    return c == '_' || Character.isLetterOrDigit(c);
  }

  private static int count(String s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      if (s.charAt(i) == '\n') {
        n++;
      }
    }
    return n;
  }

  /** Python's {@code unicode-escape} decoding, as Jinja applies it to string literals. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\' || i + 1 >= s.length()) {
        sb.append(c);
        continue;
      }
      char e = s.charAt(++i);
      switch (e) {
        case '\n' -> {}
        case '\\' -> sb.append('\\');
        case '\'' -> sb.append('\'');
        case '"' -> sb.append('"');
        case 'a' -> sb.append('\u0007');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'n' -> sb.append('\n');
        case 'r' -> sb.append('\r');
        case 't' -> sb.append('\t');
        case 'v' -> sb.append('\u000b');
        case 'x', 'u', 'U' -> {
          int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          String hex = s.substring(i + 1, Math.min(s.length(), i + 1 + digits));
          if (hex.length() < digits || !hex.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
            throw new TemplateException("truncated \\" + e + " escape in a string literal");
          }
          sb.appendCodePoint(Integer.parseInt(hex, 16));
          i += digits;
        }
        default -> {
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            int n = 1;
            while (n < 3
                && i + 1 < s.length()
                && s.charAt(i + 1) >= '0'
                && s.charAt(i + 1) <= '7') {
              v = v * 8 + (s.charAt(++i) - '0');
              n++;
            }
            sb.append((char) v);
          } else {
            sb.append('\\').append(e);
          }
        }
      }
    }
    return sb.toString();
  }
}
