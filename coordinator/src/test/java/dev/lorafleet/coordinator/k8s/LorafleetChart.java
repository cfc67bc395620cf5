package dev.lorafleet.coordinator.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.util.Yaml;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The chart in {@code helm/lorafleet}, linted and rendered in-process by helm-java (the real Helm
 * library, no helm binary and no cluster needed), with the manifests parsed back into the
 * Kubernetes client's models.
 */
final class LorafleetChart {
  static final String RELEASE = "ft";
  static final String NAMESPACE = "training";

  /** helm template assumes Kubernetes 1.20 unless told; the chart needs 1.25 or newer. */
  static final String KUBE_VERSION = "v1.31.0";

  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

  private LorafleetChart() {}

  /** The chart directory, found from the module directory surefire runs in. */
  static Path directory() {
    for (Path candidate :
        List.of(Paths.get("..", "helm", "lorafleet"), Paths.get("helm", "lorafleet"))) {
      if (Files.isRegularFile(candidate.resolve("Chart.yaml"))) {
        return candidate.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException(
        "helm/lorafleet/Chart.yaml not found from " + Paths.get("").toAbsolutePath());
  }

  /** Renders the chart with {@code --set key=value} for each entry. */
  static Manifests template(Map<String, Object> sets) {
    TemplateCommand command =
        new Helm(directory())
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION);
    sets.forEach(command::set);
    return Manifests.parse(command.call());
  }

  static Manifests template() {
    return template(Map.of());
  }

  /**
   * Lints a copy of the chart whose values.yaml carries the given overrides (dotted keys, as {@code
   * --set} takes them): helm-java's lint takes no --set, and lint is what checks the values against
   * values.schema.json.
   */
  static LintResult lint(Path scratch, Map<String, Object> sets) {
    Path copy = scratch.resolve("lorafleet");
    copyTree(directory(), copy);
    if (!sets.isEmpty()) {
      Path valuesFile = copy.resolve("values.yaml");
      try {
        org.yaml.snakeyaml.Yaml yaml = new org.yaml.snakeyaml.Yaml();
        Map<String, Object> values = yaml.load(Files.readString(valuesFile));
        sets.forEach((key, value) -> put(values, key.split("\\."), value));
        Files.writeString(valuesFile, yaml.dump(values));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new Helm(copy).lint().strict().call();
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> values, String[] path, Object value) {
    Map<String, Object> node = values;
    for (int i = 0; i < path.length - 1; i++) {
      node = (Map<String, Object>) node.computeIfAbsent(path[i], k -> new LinkedHashMap<>());
    }
    node.put(path[path.length - 1], value);
  }

  private static void copyTree(Path from, Path to) {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path source : paths.sorted(Comparator.naturalOrder()).toList()) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Rendered manifests: Kubernetes objects as the client's models, CRD kinds as plain maps. */
  record Manifests(String text, List<KubernetesObject> objects, List<Map<String, Object>> custom) {

    static Manifests parse(String rendered) {
      List<KubernetesObject> objects = new ArrayList<>();
      List<Map<String, Object>> custom = new ArrayList<>();
      for (String document : DOCUMENT_SEPARATOR.split(rendered)) {
        Object raw = Yaml.getSnakeYaml(null).load(document);
        if (!(raw instanceof Map<?, ?> map)) {
          continue; // comments only (a template rendered to nothing)
        }
        if ("ServiceMonitor".equals(map.get("kind"))) {
          @SuppressWarnings("unchecked")
          Map<String, Object> typed = new LinkedHashMap<>((Map<String, Object>) map);
          custom.add(typed);
          continue;
        }
        try {
          for (Object parsed : Yaml.loadAll(document)) {
            assertThat(parsed)
                .as("rendered document parses as a Kubernetes model:%n%s", document)
                .isInstanceOf(KubernetesObject.class);
            objects.add((KubernetesObject) parsed);
          }
        } catch (IOException e) {
          throw new AssertionError("rendered document is not a Kubernetes object:\n" + document, e);
        }
      }
      return new Manifests(rendered, List.copyOf(objects), List.copyOf(custom));
    }

    <T extends KubernetesObject> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends KubernetesObject> T named(Class<T> type, String name) {
      return all(type).stream()
          .filter(o -> name.equals(o.getMetadata().getName()))
          .findFirst()
          .orElseThrow(
              () ->
                  new AssertionError(
                      "no "
                          + type.getSimpleName()
                          + " named "
                          + name
                          + " among "
                          + objects.stream()
                              .map(o -> o.getKind() + "/" + o.getMetadata().getName())
                              .toList()));
    }
  }
}
