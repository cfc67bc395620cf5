package dev.lorafleet.worker.data.jinja;

import dev.lorafleet.worker.data.jinja.Nodes.Args;
import dev.lorafleet.worker.data.jinja.Nodes.Expr;
import dev.lorafleet.worker.data.jinja.Nodes.Stmt;
import dev.lorafleet.worker.data.jinja.Nodes.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recursive-descent parser for the Jinja2 language, with Jinja2's operator precedence (lowest
 * first): inline if, {@code or}, {@code and}, {@code not}, comparisons and {@code in}, {@code + -},
 * {@code ~}, {@code * / // %}, {@code **}, unary {@code - +}, then primaries with their postfix
 * attribute, subscript and call, filters and tests.
 */
final class Parser {
  private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");

  private final List<Token> tokens;
  private int p;

  Parser(List<Token> tokens) {
    this.tokens = tokens;
  }

  List<Stmt> parseTemplate() {
    List<Stmt> body = subparse(Set.of());
    if (peek().type() != Token.Type.EOF) {
      throw fail("unexpected " + peek().describe());
    }
    return body;
  }

  // ---- token helpers ------------------------------------------------------------------------

  private Token peek() {
    return tokens.get(p);
  }

  private Token look() {
    return tokens.get(Math.min(p + 1, tokens.size() - 1));
  }

  private Token next() {
    Token t = tokens.get(p);
    if (t.type() != Token.Type.EOF) {
      p++;
    }
    return t;
  }

  private boolean skipOp(String op) {
    if (peek().isOp(op)) {
      p++;
      return true;
    }
    return false;
  }

  private boolean skipName(String name) {
    if (peek().isName(name)) {
      p++;
      return true;
    }
    return false;
  }

  private void expectOp(String op) {
    if (!skipOp(op)) {
      throw fail("expected '" + op + "', got " + peek().describe());
    }
  }

  private String expectName() {
    Token t = peek();
    if (t.type() != Token.Type.NAME) {
      throw fail("expected a name, got " + t.describe());
    }
    p++;
    return t.value();
  }

  private void expectBlockEnd() {
    if (peek().type() != Token.Type.BLOCK_END) {
      throw fail("expected end of statement block, got " + peek().describe());
    }
    p++;
  }

  private TemplateException fail(String message) {
    return new TemplateException(message, peek().line());
  }

  // ---- statements ---------------------------------------------------------------------------

  /** Statements up to (not including) a block tag whose name is in {@code endNames}. */
  private List<Stmt> subparse(Set<String> endNames) {
    List<Stmt> body = new ArrayList<>();
    while (true) {
      Token t = peek();
      switch (t.type()) {
        case TEXT -> {
          next();
          body.add(new Nodes.Text(t.line(), t.value()));
        }
        case VAR_BEGIN -> {
          next();
          Expr e = parseTuple(true, false);
          if (peek().type() != Token.Type.VAR_END) {
            throw fail("expected end of print statement, got " + peek().describe());
          }
          next();
          body.add(new Nodes.Print(t.line(), e));
        }
        case BLOCK_BEGIN -> {
          Token name = look();
          if (name.type() == Token.Type.NAME && endNames.contains(name.value())) {
            next();
            return body;
          }
          next();
          body.add(parseStatement());
        }
        case EOF -> {
          if (!endNames.isEmpty()) {
            throw fail(
                "unexpected end of template, expected one of "
                    + String.join(", ", endNames.stream().sorted().toList()));
          }
          return body;
        }
        default -> throw fail("unexpected " + t.describe());
      }
    }
  }

  private Stmt parseStatement() {
    Token t = peek();
    if (t.type() != Token.Type.NAME) {
      throw fail("tag name expected");
    }
    int line = t.line();
    next();
    switch (t.value()) {
      case "if":
        return parseIf(line);
      case "for":
        return parseFor(line);
      case "set":
        return parseSet(line);
      case "macro":
        return parseMacro(line);
      case "with":
        return parseWith(line);
      case "filter":
        return parseFilterBlock(line);
      case "break":
        expectBlockEnd();
        return new Nodes.LoopControl(line, Nodes.LoopSignal.BREAK);
      case "continue":
        expectBlockEnd();
        return new Nodes.LoopControl(line, Nodes.LoopSignal.CONTINUE);
      case "generation":
        {
          expectBlockEnd();
          List<Stmt> body = subparse(Set.of("endgeneration"));
          next();
          expectBlockEnd();
          return new Nodes.Block(line, body);
        }
      default:
        throw new TemplateException("encountered unknown tag '" + t.value() + "'", line);
    }
  }

  private Stmt parseIf(int line) {
    List<Expr> tests = new ArrayList<>();
    List<List<Stmt>> bodies = new ArrayList<>();
    List<Stmt> otherwise = List.of();
    tests.add(parseTuple(true, false));
    expectBlockEnd();
    while (true) {
      bodies.add(subparse(Set.of("elif", "else", "endif")));
      String tag = next().value();
      if (tag.equals("elif")) {
        tests.add(parseTuple(true, false));
        expectBlockEnd();
        continue;
      }
      if (tag.equals("else")) {
        expectBlockEnd();
        otherwise = subparse(Set.of("endif"));
        next();
      }
      expectBlockEnd();
      return new Nodes.If(line, tests, bodies, otherwise);
    }
  }

  private Stmt parseFor(int line) {
    Target target = parseAssignTarget(false, Set.of("in"));
    if (!skipName("in")) {
      throw fail("expected 'in', got " + peek().describe());
    }
    Expr iter = parseTuple(false, false, Set.of("recursive"));
    Expr filter = null;
    if (skipName("if")) {
      filter = parseExpression(true);
    }
    if (skipName("recursive")) {
      throw fail("recursive loops are not supported");
    }
    expectBlockEnd();
    List<Stmt> body = subparse(Set.of("endfor", "else"));
    List<Stmt> otherwise = List.of();
    if (next().value().equals("else")) {
      expectBlockEnd();
      otherwise = subparse(Set.of("endfor"));
      next();
    }
    expectBlockEnd();
    return new Nodes.For(line, target, iter, filter, body, otherwise);
  }

  private Stmt parseSet(int line) {
    Target target = parseAssignTarget(true, Set.of());
    if (skipOp("=")) {
      Expr value = parseTuple(true, false);
      expectBlockEnd();
      return new Nodes.Assign(line, target, value);
    }
    List<Nodes.Filter> filters = parseFilterChain();
    expectBlockEnd();
    List<Stmt> body = subparse(Set.of("endset"));
    next();
    expectBlockEnd();
    return new Nodes.AssignBlock(line, target, filters, body);
  }

  private Stmt parseMacro(int line) {
    String name = expectName();
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    expectOp("(");
    while (!peek().isOp(")")) {
      if (!params.isEmpty()) {
        expectOp(",");
        if (peek().isOp(")")) {
          break;
        }
      }
      params.add(expectName());
      if (skipOp("=")) {
        defaults.add(parseExpression(true));
      } else if (!defaults.isEmpty()) {
        throw fail("non-default argument follows default argument");
      }
    }
    expectOp(")");
    expectBlockEnd();
    List<Stmt> body = subparse(Set.of("endmacro"));
    next();
    if (peek().type() == Token.Type.NAME) {
      next();
    }
    expectBlockEnd();
    return new Nodes.Macro(line, name, params, defaults, body);
  }

  private Stmt parseWith(int line) {
    List<Target> targets = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    while (peek().type() != Token.Type.BLOCK_END) {
      if (!targets.isEmpty()) {
        expectOp(",");
      }
      targets.add(parseAssignTarget(false, Set.of()));
      expectOp("=");
      values.add(parseExpression(true));
    }
    expectBlockEnd();
    List<Stmt> body = subparse(Set.of("endwith"));
    next();
    expectBlockEnd();
    return new Nodes.With(line, targets, values, body);
  }

  private Stmt parseFilterBlock(int line) {
    List<Nodes.Filter> filters = new ArrayList<>();
    filters.add(parseOneFilter(null));
    filters.addAll(parseFilterChain());
    expectBlockEnd();
    List<Stmt> body = subparse(Set.of("endfilter"));
    next();
    expectBlockEnd();
    return new Nodes.FilterBlock(line, filters, body);
  }

  private List<Nodes.Filter> parseFilterChain() {
    List<Nodes.Filter> filters = new ArrayList<>();
    while (skipOp("|")) {
      filters.add(parseOneFilter(null));
    }
    return filters;
  }

  private Target parseAssignTarget(boolean allowNamespace, Set<String> endNames) {
    if (allowNamespace && peek().type() == Token.Type.NAME && look().isOp(".")) {
      String name = next().value();
      next();
      return new Nodes.AttrTarget(name, expectName());
    }
    boolean parens = skipOp("(");
    List<Target> items = new ArrayList<>();
    boolean tuple = false;
    while (true) {
      if (!items.isEmpty()) {
        if (!skipOp(",")) {
          break;
        }
        tuple = true;
        if (peek().type() != Token.Type.NAME
            || endNames.contains(peek().value())
            || peek().isOp(")")) {
          break;
        }
      }
      items.add(new Nodes.NameTarget(expectName()));
    }
    if (parens) {
      expectOp(")");
    }
    return tuple || parens && items.size() != 1 ? new Nodes.TupleTarget(items) : items.get(0);
  }

  // ---- expressions --------------------------------------------------------------------------

  private Expr parseTuple(boolean withCondexpr, boolean explicitParens) {
    return parseTuple(withCondexpr, explicitParens, Set.of());
  }

  private Expr parseTuple(boolean withCondexpr, boolean explicitParens, Set<String> endNames) {
    int line = peek().line();
    List<Expr> items = new ArrayList<>();
    boolean tuple = false;
    while (true) {
      if (!items.isEmpty()) {
        expectOp(",");
      }
      if (isTupleEnd(endNames)) {
        break;
      }
      items.add(parseExpression(withCondexpr));
      if (peek().isOp(",")) {
        tuple = true;
      } else {
        break;
      }
    }
    if (!tuple) {
      if (!items.isEmpty()) {
        return items.get(0);
      }
      if (!explicitParens) {
        throw fail("expected an expression, got " + peek().describe());
      }
    }
    return new Nodes.ListExpr(line, items, true);
  }

  private boolean isTupleEnd(Set<String> endNames) {
    Token t = peek();
    return t.type() == Token.Type.VAR_END
        || t.type() == Token.Type.BLOCK_END
        || t.isOp(")")
        || (t.type() == Token.Type.NAME && endNames.contains(t.value()));
  }

  private Expr parseExpression(boolean withCondexpr) {
    return withCondexpr ? parseCondexpr() : parseOr();
  }

  private Expr parseCondexpr() {
    int line = peek().line();
    Expr expr1 = parseOr();
    while (skipName("if")) {
      Expr test = parseOr();
      Expr otherwise = skipName("else") ? parseCondexpr() : null;
      expr1 = new Nodes.CondExpr(line, test, expr1, otherwise);
    }
    return expr1;
  }

  private Expr parseOr() {
    int line = peek().line();
    Expr left = parseAnd();
    while (skipName("or")) {
      left = new Nodes.Or(line, left, parseAnd());
    }
    return left;
  }

  private Expr parseAnd() {
    int line = peek().line();
    Expr left = parseNot();
    while (skipName("and")) {
      left = new Nodes.And(line, left, parseNot());
    }
    return left;
  }

  private Expr parseNot() {
    int line = peek().line();
    if (skipName("not")) {
      return new Nodes.Not(line, parseNot());
    }
    return parseCompare();
  }

  private Expr parseCompare() {
    int line = peek().line();
    Expr first = parseMath1();
    List<String> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    while (true) {
      Token t = peek();
      if (t.type() == Token.Type.OPERATOR && COMPARE_OPS.contains(t.value())) {
        next();
        ops.add(t.value());
      } else if (t.isName("in")) {
        next();
        ops.add("in");
      } else if (t.isName("not") && look().isName("in")) {
        next();
        next();
        ops.add("notin");
      } else {
        break;
      }
      rest.add(parseMath1());
    }
    return ops.isEmpty() ? first : new Nodes.Compare(line, first, ops, rest);
  }

  private Expr parseMath1() {
    int line = peek().line();
    Expr left = parseConcat();
    while (peek().isOp("+") || peek().isOp("-")) {
      String op = next().value();
      left = new Nodes.BinOp(line, op, left, parseConcat());
    }
    return left;
  }

  private Expr parseConcat() {
    int line = peek().line();
    List<Expr> parts = new ArrayList<>();
    parts.add(parseMath2());
    while (skipOp("~")) {
      parts.add(parseMath2());
    }
    return parts.size() == 1 ? parts.get(0) : new Nodes.Concat(line, parts);
  }

  private Expr parseMath2() {
    int line = peek().line();
    Expr left = parsePow();
    while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
      String op = next().value();
      left = new Nodes.BinOp(line, op, left, parsePow());
    }
    return left;
  }

  private Expr parsePow() {
    int line = peek().line();
    Expr left = parseUnary(true);
    while (skipOp("**")) {
      left = new Nodes.BinOp(line, "**", left, parseUnary(true));
    }
    return left;
  }

  private Expr parseUnary(boolean withFilter) {
    int line = peek().line();
    Expr node;
    if (skipOp("-")) {
      node = new Nodes.Neg(line, parseUnary(false), true);
    } else if (skipOp("+")) {
      node = new Nodes.Neg(line, parseUnary(false), false);
    } else {
      node = parsePrimary();
    }
    node = parsePostfix(node);
    if (withFilter) {
      node = parseFilterExpr(node);
    }
    return node;
  }

  private Expr parsePrimary() {
    Token t = peek();
    int line = t.line();
    switch (t.type()) {
      case NAME -> {
        next();
        return switch (t.value()) {
          case "true", "True" -> new Nodes.Const(line, Boolean.TRUE);
          case "false", "False" -> new Nodes.Const(line, Boolean.FALSE);
          case "none", "None" -> new Nodes.Const(line, null);
          default -> new Nodes.Name(line, t.value());
        };
      }
      case STRING -> {
        StringBuilder sb = new StringBuilder(next().value());
        while (peek().type() == Token.Type.STRING) {
          sb.append(next().value());
        }
        return new Nodes.Const(line, sb.toString());
      }
      case INTEGER -> {
        next();
        return new Nodes.Const(line, parseInteger(t.value()));
      }
      case FLOAT -> {
        next();
        return new Nodes.Const(line, Double.parseDouble(t.value()));
      }
      case OPERATOR -> {
        if (t.isOp("(")) {
          next();
          Expr e = parseTuple(true, true);
          expectOp(")");
          return e;
        }
        if (t.isOp("[")) {
          next();
          List<Expr> items = new ArrayList<>();
          while (!peek().isOp("]")) {
            if (!items.isEmpty()) {
              expectOp(",");
              if (peek().isOp("]")) {
                break;
              }
            }
            items.add(parseExpression(true));
          }
          expectOp("]");
          return new Nodes.ListExpr(line, items, false);
        }
        if (t.isOp("{")) {
          next();
          List<Expr> keys = new ArrayList<>();
          List<Expr> values = new ArrayList<>();
          while (!peek().isOp("}")) {
            if (!keys.isEmpty()) {
              expectOp(",");
              if (peek().isOp("}")) {
                break;
              }
            }
            keys.add(parseExpression(true));
            expectOp(":");
            values.add(parseExpression(true));
          }
          expectOp("}");
          return new Nodes.DictExpr(line, keys, values);
        }
        throw fail("unexpected " + t.describe());
      }
      default -> throw fail("unexpected " + t.describe());
    }
  }

  private static Long parseInteger(String s) {
    String lower = s.toLowerCase();
    if (lower.startsWith("0x")) {
      return Long.parseLong(s.substring(2), 16);
    }
    if (lower.startsWith("0o")) {
      return Long.parseLong(s.substring(2), 8);
    }
    if (lower.startsWith("0b")) {
      return Long.parseLong(s.substring(2), 2);
    }
    return Long.parseLong(s);
  }

  private Expr parsePostfix(Expr node) {
    while (true) {
      Token t = peek();
      if (t.isOp(".")) {
        next();
        Token attr = next();
        if (attr.type() == Token.Type.NAME) {
          node = new Nodes.GetAttr(t.line(), node, attr.value());
        } else if (attr.type() == Token.Type.INTEGER) {
          node =
              new Nodes.GetItem(
                  t.line(), node, new Nodes.Const(t.line(), parseInteger(attr.value())));
        } else {
          throw new TemplateException("expected name or number after '.'", t.line());
        }
      } else if (t.isOp("[")) {
        next();
        node = parseSubscript(node, t.line());
        expectOp("]");
      } else if (t.isOp("(")) {
        node = new Nodes.Call(t.line(), node, parseCallArgs());
      } else {
        return node;
      }
    }
  }

  private Expr parseSubscript(Expr node, int line) {
    Expr start = null;
    if (!peek().isOp(":")) {
      Expr e = parseExpression(true);
      if (!peek().isOp(":")) {
        return new Nodes.GetItem(line, node, e);
      }
      start = e;
    }
    next();
    Expr stop = null;
    if (!peek().isOp(":") && !peek().isOp("]") && !peek().isOp(",")) {
      stop = parseExpression(true);
    }
    Expr step = null;
    if (skipOp(":") && !peek().isOp("]") && !peek().isOp(",")) {
      step = parseExpression(true);
    }
    return new Nodes.SliceExpr(line, node, start, stop, step);
  }

  private Args parseCallArgs() {
    expectOp("(");
    List<Expr> positional = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Expr> named = new ArrayList<>();
    boolean first = true;
    while (!peek().isOp(")")) {
      if (!first) {
        expectOp(",");
        if (peek().isOp(")")) {
          break;
        }
      }
      first = false;
      if (peek().isOp("*") || peek().isOp("**")) {
        throw fail("*args and **kwargs in calls are not supported");
      }
      if (peek().type() == Token.Type.NAME && look().isOp("=")) {
        names.add(next().value());
        next();
        named.add(parseExpression(true));
      } else {
        if (!names.isEmpty()) {
          throw fail("positional argument follows keyword argument");
        }
        positional.add(parseExpression(true));
      }
    }
    expectOp(")");
    return new Args(positional, names, named);
  }

  private Expr parseFilterExpr(Expr node) {
    while (true) {
      Token t = peek();
      if (t.isOp("|")) {
        next();
        node = parseOneFilter(node);
      } else if (t.isName("is")) {
        next();
        node = parseTest(node, t.line());
      } else if (t.isOp("(")) {
        node = new Nodes.Call(t.line(), node, parseCallArgs());
      } else {
        return node;
      }
    }
  }

  private Nodes.Filter parseOneFilter(Expr node) {
    int line = peek().line();
    StringBuilder name = new StringBuilder(expectName());
    while (peek().isOp(".")) {
      next();
      name.append('.').append(expectName());
    }
    if (!Builtins.hasFilter(name.toString())) {
      throw new TemplateException("no filter named '" + name + "'", line);
    }
    Args args = peek().isOp("(") ? parseCallArgs() : Args.NONE;
    return new Nodes.Filter(line, node, name.toString(), args);
  }

  private Expr parseTest(Expr node, int line) {
    boolean negated = skipName("not");
    StringBuilder name = new StringBuilder(expectName());
    while (peek().isOp(".")) {
      next();
      name.append('.').append(expectName());
    }
    if (!Builtins.hasTest(name.toString())) {
      throw new TemplateException("no test named '" + name + "'", line);
    }
    Args args = Args.NONE;
    Token t = peek();
    if (t.isOp("(")) {
      args = parseCallArgs();
    } else if ((t.type() == Token.Type.NAME
            || t.type() == Token.Type.STRING
            || t.type() == Token.Type.INTEGER
            || t.type() == Token.Type.FLOAT
            || t.isOp("[")
            || t.isOp("{"))
        && !t.isName("else")
        && !t.isName("or")
        && !t.isName("and")) {
      if (t.isName("is")) {
        throw fail("you cannot chain multiple tests with is");
      }
      Expr arg = parsePostfix(parsePrimary());
      args = new Args(List.of(arg), List.of(), List.of());
    }
    Expr test = new Nodes.Test(line, node, name.toString(), args);
    return negated ? new Nodes.Not(line, test) : test;
  }
}
