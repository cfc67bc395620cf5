package dev.lorafleet.worker.data.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The template's syntax tree; each node evaluates or renders itself. */
final class Nodes {
  private Nodes() {}

  // ---- expressions --------------------------------------------------------------------------

  abstract static class Expr {
    final int line;

    Expr(int line) {
      this.line = line;
    }

    abstract Object eval(Scope s);
  }

  static final class Const extends Expr {
    final Object value;

    Const(int line, Object value) {
      super(line);
      this.value = value;
    }

    @Override
    Object eval(Scope s) {
      return value;
    }
  }

  static final class Name extends Expr {
    final String name;

    Name(int line, String name) {
      super(line);
      this.name = name;
    }

    @Override
    Object eval(Scope s) {
      return s.lookup(name);
    }
  }

  static final class ListExpr extends Expr {
    final List<Expr> items;
    final boolean tuple;

    ListExpr(int line, List<Expr> items, boolean tuple) {
      super(line);
      this.items = items;
      this.tuple = tuple;
    }

    @Override
    Object eval(Scope s) {
      List<Object> out = new ArrayList<>(items.size());
      for (Expr e : items) {
        out.add(e.eval(s));
      }
      return tuple ? new PyTuple(out) : out;
    }
  }

  static final class DictExpr extends Expr {
    final List<Expr> keys;
    final List<Expr> values;

    DictExpr(int line, List<Expr> keys, List<Expr> values) {
      super(line);
      this.keys = keys;
      this.values = values;
    }

    @Override
    Object eval(Scope s) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (int i = 0; i < keys.size(); i++) {
        Builtins.dictPut(out, keys.get(i).eval(s), values.get(i).eval(s));
      }
      return out;
    }
  }

  static final class GetAttr extends Expr {
    final Expr obj;
    final String name;

    GetAttr(int line, Expr obj, String name) {
      super(line);
      this.obj = obj;
      this.name = name;
    }

    @Override
    Object eval(Scope s) {
      return Builtins.getattr(obj.eval(s), name);
    }
  }

  static final class GetItem extends Expr {
    final Expr obj;
    final Expr key;

    GetItem(int line, Expr obj, Expr key) {
      super(line);
      this.obj = obj;
      this.key = key;
    }

    @Override
    Object eval(Scope s) {
      return Builtins.getitem(obj.eval(s), key.eval(s));
    }
  }

  static final class SliceExpr extends Expr {
    final Expr obj;
    final Expr start;
    final Expr stop;
    final Expr step;

    SliceExpr(int line, Expr obj, Expr start, Expr stop, Expr step) {
      super(line);
      this.obj = obj;
      this.start = start;
      this.stop = stop;
      this.step = step;
    }

    @Override
    Object eval(Scope s) {
      Object o = obj.eval(s);
      return Py.slice(o, orNull(start, s), orNull(stop, s), orNull(step, s));
    }

    private static Object orNull(Expr e, Scope s) {
      return e == null ? null : e.eval(s);
    }
  }

  /** Positional and keyword arguments of a call, filter or test. */
  record Args(List<Expr> positional, List<String> names, List<Expr> named) {
    static final Args NONE = new Args(List.of(), List.of(), List.of());

    List<Object> evalPositional(Scope s) {
      List<Object> out = new ArrayList<>(positional.size());
      for (Expr e : positional) {
        out.add(e.eval(s));
      }
      return out;
    }

    Map<String, Object> evalNamed(Scope s) {
      if (names.isEmpty()) {
        return Map.of();
      }
      Map<String, Object> out = new LinkedHashMap<>();
      for (int i = 0; i < names.size(); i++) {
        out.put(names.get(i), named.get(i).eval(s));
      }
      return out;
    }
  }

  static final class Call extends Expr {
    final Expr callee;
    final Args args;

    Call(int line, Expr callee, Args args) {
      super(line);
      this.callee = callee;
      this.args = args;
    }

    @Override
    Object eval(Scope s) {
      Object f = callee.eval(s);
      return Builtins.call(f, args.evalPositional(s), args.evalNamed(s));
    }
  }

  static final class Filter extends Expr {
    /** The filtered value; null inside a filter block, where the body's text is the value. */
    final Expr value;

    final String name;
    final Args args;

    Filter(int line, Expr value, String name, Args args) {
      super(line);
      this.value = value;
      this.name = name;
      this.args = args;
    }

    @Override
    Object eval(Scope s) {
      return apply(value.eval(s), s);
    }

    Object apply(Object v, Scope s) {
      return Builtins.filter(name, v, args.evalPositional(s), args.evalNamed(s));
    }
  }

  static final class Test extends Expr {
    final Expr value;
    final String name;
    final Args args;

    Test(int line, Expr value, String name, Args args) {
      super(line);
      this.value = value;
      this.name = name;
      this.args = args;
    }

    @Override
    Object eval(Scope s) {
      return Builtins.test(name, value.eval(s), args.evalPositional(s), args.evalNamed(s));
    }
  }

  static final class Not extends Expr {
    final Expr operand;

    Not(int line, Expr operand) {
      super(line);
      this.operand = operand;
    }

    @Override
    Object eval(Scope s) {
      return !Py.truthy(operand.eval(s));
    }
  }

  static final class Neg extends Expr {
    final Expr operand;
    final boolean minus;

    Neg(int line, Expr operand, boolean minus) {
      super(line);
      this.operand = operand;
      this.minus = minus;
    }

    @Override
    Object eval(Scope s) {
      Object v = operand.eval(s);
      return minus ? Py.neg(v) : Py.pos(v);
    }
  }

  static final class And extends Expr {
    final Expr left;
    final Expr right;

    And(int line, Expr left, Expr right) {
      super(line);
      this.left = left;
      this.right = right;
    }

    @Override
    Object eval(Scope s) {
      Object l = left.eval(s);
      return Py.truthy(l) ? right.eval(s) : l;
    }
  }

  static final class Or extends Expr {
    final Expr left;
    final Expr right;

    Or(int line, Expr left, Expr right) {
      super(line);
      this.left = left;
      this.right = right;
    }

    @Override
    Object eval(Scope s) {
      Object l = left.eval(s);
      return Py.truthy(l) ? l : right.eval(s);
    }
  }

  static final class BinOp extends Expr {
    final String op;
    final Expr left;
    final Expr right;

    BinOp(int line, String op, Expr left, Expr right) {
      super(line);
      this.op = op;
      this.left = left;
      this.right = right;
    }

    @Override
    Object eval(Scope s) {
      Object a = left.eval(s);
      Object b = right.eval(s);
      return switch (op) {
        case "+" -> Py.add(a, b);
        case "-" -> Py.sub(a, b);
        case "*" -> Py.mul(a, b);
        case "/" -> Py.truediv(a, b);
        case "//" -> Py.floordiv(a, b);
        case "%" -> Py.mod(a, b);
        case "**" -> Py.pow(a, b);
        default -> throw new IllegalStateException(op);
      };
    }
  }

  /** {@code a ~ b ~ c}: the str() of each, joined. */
  static final class Concat extends Expr {
    final List<Expr> parts;

    Concat(int line, List<Expr> parts) {
      super(line);
      this.parts = parts;
    }

    @Override
    Object eval(Scope s) {
      StringBuilder sb = new StringBuilder();
      for (Expr e : parts) {
        sb.append(Py.str(e.eval(s)));
      }
      return sb.toString();
    }
  }

  static final class Compare extends Expr {
    final Expr first;
    final List<String> ops;
    final List<Expr> rest;

    Compare(int line, Expr first, List<String> ops, List<Expr> rest) {
      super(line);
      this.first = first;
      this.ops = ops;
      this.rest = rest;
    }

    @Override
    Object eval(Scope s) {
      Object a = first.eval(s);
      for (int i = 0; i < ops.size(); i++) {
        Object b = rest.get(i).eval(s);
        if (!compare(ops.get(i), a, b)) {
          return false;
        }
        a = b;
      }
      return true;
    }

    static boolean compare(String op, Object a, Object b) {
      return switch (op) {
        case "==" -> Py.eq(a, b);
        case "!=" -> !Py.eq(a, b);
        case "<" -> Py.compare(a, b, op) < 0;
        case "<=" -> Py.compare(a, b, op) <= 0;
        case ">" -> Py.compare(a, b, op) > 0;
        case ">=" -> Py.compare(a, b, op) >= 0;
        case "in" -> Py.contains(b, a);
        case "notin" -> !Py.contains(b, a);
        default -> throw new IllegalStateException(op);
      };
    }
  }

  static final class CondExpr extends Expr {
    final Expr test;
    final Expr then;
    final Expr otherwise;

    CondExpr(int line, Expr test, Expr then, Expr otherwise) {
      super(line);
      this.test = test;
      this.then = then;
      this.otherwise = otherwise;
    }

    @Override
    Object eval(Scope s) {
      if (Py.truthy(test.eval(s))) {
        return then.eval(s);
      }
      return otherwise == null
          ? new Undefined(
              "the inline if-expression evaluated to false and no else section was defined.")
          : otherwise.eval(s);
    }
  }

  // ---- assignment targets -------------------------------------------------------------------

  abstract static class Target {
    abstract void assign(Scope s, Object value, int line);
  }

  static final class NameTarget extends Target {
    final String name;

    NameTarget(String name) {
      this.name = name;
    }

    @Override
    void assign(Scope s, Object value, int line) {
      s.set(name, value);
    }
  }

  static final class TupleTarget extends Target {
    final List<Target> items;

    TupleTarget(List<Target> items) {
      this.items = items;
    }

    @Override
    void assign(Scope s, Object value, int line) {
      List<Object> values = Py.iterate(value);
      if (values.size() != items.size()) {
        throw new TemplateException(
            (values.size() > items.size() ? "too many" : "not enough")
                + " values to unpack (expected "
                + items.size()
                + ", got "
                + values.size()
                + ")",
            line);
      }
      for (int i = 0; i < items.size(); i++) {
        items.get(i).assign(s, values.get(i), line);
      }
    }
  }

  /** {@code set ns.attr = …}: only a namespace may be changed this way. */
  static final class AttrTarget extends Target {
    final String name;
    final String attr;

    AttrTarget(String name, String attr) {
      this.name = name;
      this.attr = attr;
    }

    @Override
    void assign(Scope s, Object value, int line) {
      Object ns = s.lookup(name);
      if (!(ns instanceof Namespace n)) {
        throw new TemplateException("cannot assign attribute on non-namespace object", line);
      }
      n.attrs.put(attr, value);
    }
  }

  // ---- statements ---------------------------------------------------------------------------

  abstract static class Stmt {
    final int line;

    Stmt(int line) {
      this.line = line;
    }

    abstract void render(Scope s, StringBuilder out);
  }

  static void renderAll(List<Stmt> body, Scope s, StringBuilder out) {
    for (Stmt st : body) {
      try {
        st.render(s, out);
      } catch (TemplateException e) {
        if (e.line() == 0 && !(e instanceof TemplateException.Raised)) {
          throw new TemplateException(e.getMessage(), st.line);
        }
        throw e;
      } catch (ArithmeticException e) {
        throw new TemplateException("integer overflow: " + e.getMessage(), st.line);
      }
    }
  }

  static final class Text extends Stmt {
    final String text;

    Text(int line, String text) {
      super(line);
      this.text = text;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      out.append(text);
    }
  }

  static final class Print extends Stmt {
    final Expr expr;

    Print(int line, Expr expr) {
      super(line);
      this.expr = expr;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      out.append(Py.str(expr.eval(s)));
    }
  }

  static final class If extends Stmt {
    final List<Expr> tests;
    final List<List<Stmt>> bodies;
    final List<Stmt> otherwise;

    If(int line, List<Expr> tests, List<List<Stmt>> bodies, List<Stmt> otherwise) {
      super(line);
      this.tests = tests;
      this.bodies = bodies;
      this.otherwise = otherwise;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      for (int i = 0; i < tests.size(); i++) {
        if (Py.truthy(tests.get(i).eval(s))) {
          renderAll(bodies.get(i), s, out);
          return;
        }
      }
      renderAll(otherwise, s, out);
    }
  }

  /** Thrown by {@code break} and {@code continue}; cheap, without a stack trace. */
  static final class LoopSignal extends RuntimeException {
    static final LoopSignal BREAK = new LoopSignal();
    static final LoopSignal CONTINUE = new LoopSignal();

    private LoopSignal() {
      super(null, null, false, false);
    }
  }

  static final class LoopControl extends Stmt {
    final LoopSignal signal;

    LoopControl(int line, LoopSignal signal) {
      super(line);
      this.signal = signal;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      throw signal;
    }
  }

  static final class For extends Stmt {
    final Target target;
    final Expr iter;
    final Expr filter;
    final List<Stmt> body;
    final List<Stmt> otherwise;

    For(int line, Target target, Expr iter, Expr filter, List<Stmt> body, List<Stmt> otherwise) {
      super(line);
      this.target = target;
      this.iter = iter;
      this.filter = filter;
      this.body = body;
      this.otherwise = otherwise;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      List<Object> items = Py.iterate(iter.eval(s));
      if (filter != null) {
        List<Object> kept = new ArrayList<>();
        for (Object item : items) {
          Scope probe = s.child();
          target.assign(probe, item, line);
          if (Py.truthy(filter.eval(probe))) {
            kept.add(item);
          }
        }
        items = kept;
      }
      if (items.isEmpty()) {
        renderAll(otherwise, s.child(), out);
        return;
      }
      LoopContext loop = new LoopContext(items, 0);
      for (int i = 0; i < items.size(); i++) {
        loop.index0 = i;
        Scope iteration = s.child();
        target.assign(iteration, items.get(i), line);
        iteration.set("loop", loop);
        try {
          renderAll(body, iteration, out);
        } catch (LoopSignal signal) {
          if (signal == LoopSignal.BREAK) {
            break;
          }
        }
      }
    }
  }

  static final class Assign extends Stmt {
    final Target target;
    final Expr value;

    Assign(int line, Target target, Expr value) {
      super(line);
      this.target = target;
      this.value = value;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      target.assign(s, value.eval(s), line);
    }
  }

  static final class AssignBlock extends Stmt {
    final Target target;
    final List<Filter> filters;
    final List<Stmt> body;

    AssignBlock(int line, Target target, List<Filter> filters, List<Stmt> body) {
      super(line);
      this.target = target;
      this.filters = filters;
      this.body = body;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      StringBuilder captured = new StringBuilder();
      renderAll(body, s, captured);
      Object v = captured.toString();
      for (Filter f : filters) {
        v = f.apply(v, s);
      }
      target.assign(s, v, line);
    }
  }

  static final class FilterBlock extends Stmt {
    final List<Filter> filters;
    final List<Stmt> body;

    FilterBlock(int line, List<Filter> filters, List<Stmt> body) {
      super(line);
      this.filters = filters;
      this.body = body;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      StringBuilder captured = new StringBuilder();
      renderAll(body, s, captured);
      Object v = captured.toString();
      for (Filter f : filters) {
        v = f.apply(v, s);
      }
      out.append(Py.str(v));
    }
  }

  static final class With extends Stmt {
    final List<Target> targets;
    final List<Expr> values;
    final List<Stmt> body;

    With(int line, List<Target> targets, List<Expr> values, List<Stmt> body) {
      super(line);
      this.targets = targets;
      this.values = values;
      this.body = body;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      Scope inner = s.child();
      for (int i = 0; i < targets.size(); i++) {
        targets.get(i).assign(inner, values.get(i).eval(s), line);
      }
      renderAll(body, inner, out);
    }
  }

  /** A block rendered as is: transformers' {@code {% generation %}} marks assistant text. */
  static final class Block extends Stmt {
    final List<Stmt> body;

    Block(int line, List<Stmt> body) {
      super(line);
      this.body = body;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      renderAll(body, s, out);
    }
  }

  static final class Macro extends Stmt {
    final String name;
    final List<String> params;
    final List<Expr> defaults;
    final List<Stmt> body;

    Macro(int line, String name, List<String> params, List<Expr> defaults, List<Stmt> body) {
      super(line);
      this.name = name;
      this.params = params;
      this.defaults = defaults;
      this.body = body;
    }

    @Override
    void render(Scope s, StringBuilder out) {
      s.set(name, (JinjaCallable) (args, kwargs) -> invoke(s, args, kwargs));
    }

    private Object invoke(Scope defining, List<Object> args, Map<String, Object> kwargs) {
      Scope call = defining.child();
      int firstDefault = params.size() - defaults.size();
      Map<String, Object> extraKw = new LinkedHashMap<>(kwargs);
      for (int i = 0; i < params.size(); i++) {
        String p = params.get(i);
        Object v;
        if (i < args.size()) {
          if (kwargs.containsKey(p)) {
            throw new TemplateException(
                "macro '" + name + "' got multiple values for argument '" + p + "'", line);
          }
          v = args.get(i);
        } else if (kwargs.containsKey(p)) {
          v = kwargs.get(p);
          extraKw.remove(p);
        } else if (i >= firstDefault) {
          v = defaults.get(i - firstDefault).eval(call);
        } else {
          v = new Undefined("parameter '" + p + "' was not provided");
        }
        call.set(p, v);
      }
      List<Object> varargs =
          args.size() > params.size()
              ? new ArrayList<>(args.subList(params.size(), args.size()))
              : new ArrayList<>();
      call.set("varargs", new PyTuple(varargs));
      call.set("kwargs", new LinkedHashMap<Object, Object>(extraKw));
      StringBuilder out = new StringBuilder();
      renderAll(body, call, out);
      return out.toString();
    }
  }
}
