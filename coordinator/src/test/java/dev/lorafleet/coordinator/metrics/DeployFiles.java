package dev.lorafleet.coordinator.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** The files under {@code deploy/} and what tests read from them. */
final class DeployFiles {

  private DeployFiles() {}

  /** The repository root: the first directory upwards from the working directory with deploy/. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("deploy/grafana"))) {
        return d;
      }
    }
    throw new IllegalStateException("no deploy/grafana above " + dir);
  }

  static Path dashboard() {
    return root().resolve("deploy/grafana/lorafleet.json");
  }

  static Path alerts() {
    return root().resolve("deploy/prometheus/alerts.yaml");
  }

  static Path alertTests() {
    return root().resolve("deploy/prometheus/alerts_test.yaml");
  }

  static Path prometheusConfig() {
    return root().resolve("deploy/prometheus/prometheus.yaml");
  }

  static JsonNode json(Path file) {
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
  }

  static JsonNode yaml(Path file) {
    try {
      return new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
  }

  /** Every panel of the dashboard, rows' nested panels included. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : dashboard.path("panels")) {
      out.add(p);
      p.path("panels").forEach(out::add);
    }
    return out;
  }

  /** Every PromQL query of the dashboard, keyed by "panel title / refId" (variables included). */
  static Map<String, String> dashboardQueries(JsonNode dashboard) {
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonNode p : panels(dashboard)) {
      for (JsonNode t : p.path("targets")) {
        out.put(
            p.path("title").asText() + " / " + t.path("refId").asText(), t.path("expr").asText());
      }
    }
    for (JsonNode v : dashboard.path("templating").path("list")) {
      if (v.path("type").asText().equals("query")) {
        JsonNode q = v.path("query");
        out.put(
            "variable $" + v.path("name").asText(),
            q.isTextual() ? q.asText() : q.path("query").asText());
      }
    }
    return out;
  }

  /** Every rule of the rule file: alert or record name to its expression. */
  static Map<String, String> ruleExpressions(JsonNode rules) {
    Map<String, String> out = new LinkedHashMap<>();
    int i = 0;
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        String name =
            rule.has("alert")
                ? rule.path("alert").asText()
                : "record " + rule.path("record").asText();
        out.put(name + " #" + i++, rule.path("expr").asText());
      }
    }
    return out;
  }

  /** The alerts' names. */
  static Set<String> alertNames(JsonNode rules) {
    Set<String> out = new TreeSet<>();
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.has("alert")) {
          out.add(rule.path("alert").asText());
        }
      }
    }
    return out;
  }

  /** The series the rule file records (e.g. {@code lorafleet:budget}). */
  static Set<String> recordedNames(JsonNode rules) {
    Set<String> out = new TreeSet<>();
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.has("record")) {
          out.add(rule.path("record").asText());
        }
      }
    }
    return out;
  }

  /** An executable on the PATH, if there is one. */
  static Optional<Path> onPath(String name) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
