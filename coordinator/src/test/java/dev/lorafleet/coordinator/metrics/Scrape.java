package dev.lorafleet.coordinator.metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scrape of a {@code /metrics} endpoint in the Prometheus text format, parsed just enough for
 * tests: the declared type of each family and every sample with its labels and value.
 */
public record Scrape(String text, Map<String, String> types, List<Sample> samples) {

  /** One exposed sample line. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+\\S+)?$");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** GETs {@code url} (plain text format, no Accept header) and parses the answer. */
  public static Scrape of(String url) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + url + " answered " + response.statusCode());
    }
    return parse(response.body());
  }

  /** Parses exposition text. */
  public static Scrape parse(String text) {
    Map<String, String> types = new LinkedHashMap<>();
    List<Sample> samples = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        types.put(parts[2], parts[3]);
      } else if (!line.isBlank() && !line.startsWith("#")) {
        Matcher m = SAMPLE.matcher(line);
        if (!m.matches()) {
          throw new IllegalArgumentException("not a sample line: " + line);
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (m.group(2) != null) {
          Matcher l = LABEL.matcher(m.group(2));
          while (l.find()) {
            labels.put(l.group(1), l.group(2));
          }
        }
        samples.add(new Sample(m.group(1), labels, parseValue(m.group(3))));
      }
    }
    return new Scrape(text, types, samples);
  }

  private static double parseValue(String v) {
    return switch (v) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(v);
    };
  }

  /** The samples of one series name (e.g. {@code x_bucket}) whose labels include {@code match}. */
  public List<Sample> find(String name, Map<String, String> match) {
    return samples.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(match.entrySet()))
        .toList();
  }

  /** The single value of a series; fails when there is not exactly one. */
  public double value(String name, Map<String, String> match) {
    List<Sample> found = find(name, match);
    if (found.size() != 1) {
      throw new AssertionError(
          "expected one sample " + name + match + " but found " + found + " in:\n" + text);
    }
    return found.get(0).value();
  }
}
