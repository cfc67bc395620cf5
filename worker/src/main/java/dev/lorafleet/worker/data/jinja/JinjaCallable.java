package dev.lorafleet.worker.data.jinja;

import java.util.List;
import java.util.Map;

/** A function a template can call: a global such as {@code range}, a macro, a bound method. */
@FunctionalInterface
interface JinjaCallable {
  Object call(List<Object> args, Map<String, Object> kwargs);
}
