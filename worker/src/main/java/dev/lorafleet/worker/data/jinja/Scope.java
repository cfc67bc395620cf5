package dev.lorafleet.worker.data.jinja;

import java.util.HashMap;
import java.util.Map;

/** Variables visible at one point of a render: a chain from the innermost block outwards. */
final class Scope {
  private final Scope parent;
  private final Map<String, Object> vars = new HashMap<>();

  Scope(Scope parent) {
    this.parent = parent;
  }

  Object lookup(String name) {
    for (Scope s = this; s != null; s = s.parent) {
      Object v = s.vars.get(name);
      if (v != null || s.vars.containsKey(name)) {
        return v;
      }
    }
    return Undefined.name(name);
  }

  void set(String name, Object value) {
    vars.put(name, value);
  }

  Scope child() {
    return new Scope(this);
  }
}
