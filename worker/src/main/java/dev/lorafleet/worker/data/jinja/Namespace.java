package dev.lorafleet.worker.data.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** What {@code namespace(…)} returns: attributes that {@code set ns.x = …} may change. */
final class Namespace {
  final Map<String, Object> attrs = new LinkedHashMap<>();
}
