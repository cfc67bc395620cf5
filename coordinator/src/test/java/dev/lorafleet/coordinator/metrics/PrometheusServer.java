package dev.lorafleet.coordinator.metrics;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real {@code prometheus} binary (Debian's package) on a free loopback port, with its own TSDB
 * in a temporary directory, and the bits of its HTTP API the tests use.
 */
final class PrometheusServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final Path log;
  private final String base;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private PrometheusServer(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.base = "http://127.0.0.1:" + port;
  }

  /**
   * Starts {@code binary} with {@code config} (rule files resolved next to it) and waits until it
   * is ready.
   */
  static PrometheusServer start(Path binary, Path config, Path workDir) throws IOException {
    int port = freePort();
    Path data = Files.createDirectories(workDir.resolve("tsdb"));
    Path log = workDir.resolve("prometheus.log");
    List<String> command =
        List.of(
            binary.toString(),
            "--config.file=" + config,
            "--storage.tsdb.path=" + data,
            "--web.listen-address=127.0.0.1:" + port,
            "--log.level=info");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .directory(workDir.toFile())
            .start();
    PrometheusServer server = new PrometheusServer(process, log, port);
    try {
      await("prometheus ready on port " + port)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .until(server::ready);
    } catch (RuntimeException e) {
      server.close();
      throw new IllegalStateException("prometheus did not become ready:\n" + server.logTail(), e);
    }
    return server;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private boolean ready() {
    if (!process.isAlive()) {
      throw new IllegalStateException("prometheus exited with " + process.exitValue());
    }
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/-/ready"))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** An instant query; returns {@code data.result} (an array) or throws with Prometheus's error. */
  JsonNode query(String promql) {
    JsonNode body = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    if (!body.path("status").asText().equals("success")) {
      throw new IllegalArgumentException("query failed: " + promql + " -> " + body);
    }
    return body.path("data").path("result");
  }

  /** The active alerts ({@code /api/v1/alerts}). */
  List<JsonNode> alerts() {
    List<JsonNode> out = new ArrayList<>();
    get("/api/v1/alerts").path("data").path("alerts").forEach(out::add);
    return out;
  }

  /** The scrape targets' health ({@code /api/v1/targets}), for failure messages. */
  String targets() {
    return get("/api/v1/targets").path("data").path("activeTargets").toString();
  }

  private JsonNode get(String pathAndQuery) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(base + pathAndQuery))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + base + pathAndQuery, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
