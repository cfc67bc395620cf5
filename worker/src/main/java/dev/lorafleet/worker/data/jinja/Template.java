package dev.lorafleet.worker.data.jinja;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed Jinja2 template, rendered the way transformers' {@code apply_chat_template} renders chat
 * templates: Jinja2's immutable sandbox with {@code trim_blocks}, {@code lstrip_blocks} and the
 * loop controls extension, default (lenient) undefined values, no autoescaping, and the extra
 * globals {@code raise_exception} and {@code strftime_now} and transformers' {@code tojson} (no
 * HTML escaping, {@code ensure_ascii=False}).
 *
 * <p>Our own interpreter (a lexer, a recursive-descent parser and a tree-walking evaluator with
 * Python's value semantics), checked byte for byte against Python's jinja2 by the golden tests. Not
 * supported: template inheritance and includes, {@code call} blocks, recursive loops.
 *
 * <p>Immutable once parsed; {@link #render} may be called from several threads.
 */
public final class Template {
  private final List<Nodes.Stmt> body;
  private final Clock clock;

  private Template(List<Nodes.Stmt> body, Clock clock) {
    this.body = body;
    this.clock = clock;
  }

  /**
   * Parses a template.
   *
   * @throws TemplateException with the line of the first syntax error
   */
  public static Template parse(String source) {
    List<Token> tokens = new Lexer(source).tokenize();
    return new Template(new Parser(tokens).parseTemplate(), Clock.systemDefaultZone());
  }

  /** The same template with {@code strftime_now} reading this clock (for tests). */
  public Template withClock(Clock clock) {
    return new Template(body, clock);
  }

  /**
   * Renders with the given variables. Java values are taken as their Python counterparts: maps as
   * dicts, collections and arrays as lists, numbers as int or float, null as None.
   *
   * @throws TemplateException when rendering fails, or {@link TemplateException.Raised} when the
   *     template calls {@code raise_exception}
   */
  public String render(Map<String, ?> variables) {
    Scope globals = new Scope(null);
    installGlobals(globals);
    Scope context = globals.child();
    for (Map.Entry<String, ?> e : variables.entrySet()) {
      context.set(e.getKey(), Py.fromJava(e.getValue()));
    }
    StringBuilder out = new StringBuilder();
    try {
      Nodes.renderAll(body, context.child(), out);
    } catch (Nodes.LoopSignal s) {
      throw new TemplateException("break or continue outside a loop");
    } catch (StackOverflowError e) {
      throw new TemplateException("template recursion too deep");
    }
    return out.toString();
  }

  private void installGlobals(Scope g) {
    g.set(
        "raise_exception",
        (JinjaCallable)
            (args, kwargs) -> {
              throw new TemplateException.Raised(args.isEmpty() ? "" : Py.str(args.get(0)));
            });
    g.set(
        "strftime_now",
        (JinjaCallable)
            (args, kwargs) -> {
              if (args.isEmpty() || !(args.get(0) instanceof String fmt)) {
                throw new TemplateException("strftime_now expects a format string");
              }
              return Strftime.format(ZonedDateTime.now(clock), fmt);
            });
    g.set("range", (JinjaCallable) Template::range);
    g.set("dict", (JinjaCallable) (args, kwargs) -> dict(args, kwargs));
    g.set(
        "namespace",
        (JinjaCallable)
            (args, kwargs) -> {
              Namespace ns = new Namespace();
              for (Map.Entry<Object, Object> e : dict(args, kwargs).entrySet()) {
                ns.attrs.put(Py.str(e.getKey()), e.getValue());
              }
              return ns;
            });
  }

  private static Map<Object, Object> dict(List<Object> args, Map<String, Object> kwargs) {
    Map<Object, Object> m = new LinkedHashMap<>();
    if (!args.isEmpty()) {
      Object a = args.get(0);
      if (a instanceof Map<?, ?> src) {
        for (Map.Entry<?, ?> e : src.entrySet()) {
          Builtins.dictPut(m, e.getKey(), e.getValue());
        }
      } else {
        for (Object pair : Py.iterate(a)) {
          List<Object> kv = Py.iterate(pair);
          if (kv.size() != 2) {
            throw new TemplateException("dictionary update sequence element has wrong length");
          }
          Builtins.dictPut(m, kv.get(0), kv.get(1));
        }
      }
    }
    for (Map.Entry<String, Object> e : kwargs.entrySet()) {
      Builtins.dictPut(m, e.getKey(), e.getValue());
    }
    return m;
  }

  private static Object range(List<Object> args, Map<String, Object> kwargs) {
    long start = 0;
    long stop;
    long step = 1;
    for (Object a : args) {
      if (!Py.isInteger(a)) {
        throw new TemplateException(
            "'" + Py.typeName(a) + "' object cannot be interpreted as an integer");
      }
    }
    switch (args.size()) {
      case 1 -> stop = Py.asLong(args.get(0));
      case 2 -> {
        start = Py.asLong(args.get(0));
        stop = Py.asLong(args.get(1));
      }
      case 3 -> {
        start = Py.asLong(args.get(0));
        stop = Py.asLong(args.get(1));
        step = Py.asLong(args.get(2));
      }
      default -> throw new TemplateException("range expected 1 to 3 arguments");
    }
    if (step == 0) {
      throw new TemplateException("range() arg 3 must not be zero");
    }
    List<Object> out = new ArrayList<>();
    for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (out.size() >= 100_000) {
        throw new TemplateException("Range too big. The sandbox blocks ranges larger than 100000.");
      }
      out.add(i);
    }
    return out;
  }
}
