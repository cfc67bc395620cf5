package dev.lorafleet.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sends a few hundred random and mutated requests (paths, methods, bodies, raw bytes) and checks
 * that every answer is JSON and none is a 500: bad input gets a clear 4xx, never a crash.
 */
class ApiFuzzTest {
  private static final long SEED = 20_250_101L;
  private static final String[] METHODS = {"GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"};
  private static final String[] SEGMENTS = {
    "api", "v1", "jobs", "workers", "scale", "healthz", "readyz", "job-1", "..", "%2e%2e", "%00",
    "%FF", "%2F", "", ".", "~", "%25", "plan"
  };
  private static final char[] SPEC_NOISE =
      "{}[]:,-\"'\\ \n\t#&*!|>%.0123456789eE+-naNIf~\u00e9\u0000".toCharArray();

  private static ApiTestServer server;
  private static final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    server = new ApiTestServer(ApiSettings.of("127.0.0.1", 0).withMaxBodyBytes(16 * 1024));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void randomRequestsAlwaysGetJsonAndNeverA500() throws Exception {
    Random random = new Random(SEED);
    String spec = ApiServerTest.SPEC;
    List<String> problems = new ArrayList<>();
    int[] byClass = new int[6];
    for (int i = 0; i < 300; i++) {
      String method = METHODS[random.nextInt(METHODS.length)];
      String path = i % 3 == 0 ? "/api/v1/jobs" : randomPath(random);
      byte[] body = randomBody(random, spec);
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
              .timeout(Duration.ofSeconds(20))
              .method(method, BodyPublishers.ofByteArray(body))
              .build();
      HttpResponse<String> response = client.send(request, BodyHandlers.ofString());
      byClass[response.statusCode() / 100]++;
      String what = method + " " + path + " (" + body.length + " bytes)";
      if (response.statusCode() >= 500) {
        problems.add(what + " → " + response.statusCode() + " " + response.body());
      }
      if (!response.headers().firstValue("Content-Type").orElse("").equals("application/json")) {
        problems.add(what + " → not JSON: " + response.headers().map());
        continue;
      }
      JsonNode json = ApiJson.MAPPER.readTree(response.body());
      if (response.statusCode() >= 400
          && (json.get("errors") == null || json.get("errors").isEmpty())) {
        problems.add(what + " → error without errors[]: " + response.body());
      }
    }
    assertThat(problems).isEmpty();
    // the mutations reach both sides: some accepted, many refused
    assertThat(byClass[2]).isGreaterThan(10);
    assertThat(byClass[4]).isGreaterThan(100);
  }

  /** A request line too broken to route: 400 (or 501 for an unknown method), still JSON. */
  @Test
  void rawGarbageOnTheSocketGetsAJsonRefusal() throws Exception {
    Random random = new Random(SEED + 1);
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      byte[] garbage = new byte[1 + random.nextInt(200)];
      random.nextBytes(garbage);
      String prefix =
          switch (i % 3) {
            case 0 -> "GET /api/v1/jobs/";
            case 1 -> "POST /api/v1/jobs HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n";
            default -> "";
          };
      String response = exchange(prefix, garbage);
      if (response.isEmpty()) {
        continue; // the server may close a connection it cannot make sense of
      }
      if (!response.matches("(?s)HTTP/1\\.[01] (4\\d\\d|501) .*")
          || !response.contains("Content-Type: application/json")) {
        problems.add(
            "garbage #" + i + " → " + response.substring(0, Math.min(120, response.length())));
      }
    }
    assertThat(problems).isEmpty();
  }

  private static String exchange(String prefix, byte[] garbage) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(prefix.getBytes(StandardCharsets.ISO_8859_1));
      out.write(garbage);
      out.write("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      socket.shutdownOutput();
      ByteArrayOutputStream received = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      try {
        in.transferTo(received);
      } catch (SocketException e) {
        // reset after answering: what arrived is enough
      }
      return received.toString(StandardCharsets.ISO_8859_1);
    }
  }

  private static String randomPath(Random random) {
    StringBuilder path = new StringBuilder();
    int segments = 1 + random.nextInt(5);
    for (int i = 0; i < segments; i++) {
      path.append('/');
      if (random.nextInt(4) == 0) {
        byte[] bytes = new byte[1 + random.nextInt(12)];
        random.nextBytes(bytes);
        path.append(
            URLEncoder.encode(
                    new String(bytes, StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8)
                .replace("+", "%20"));
      } else {
        path.append(SEGMENTS[random.nextInt(SEGMENTS.length)]);
      }
    }
    if (random.nextInt(5) == 0) {
      path.append("?replicas=").append(random.nextInt());
    }
    return path.toString();
  }

  private static byte[] randomBody(Random random, String spec) {
    return switch (random.nextInt(6)) {
      case 0 -> new byte[0];
      case 1 -> {
        byte[] bytes = new byte[random.nextInt(2000)];
        random.nextBytes(bytes);
        yield bytes;
      }
      case 2 -> ("{\"replicas\": " + randomNumber(random) + "}").getBytes(StandardCharsets.UTF_8);
      case 3 -> ("[".repeat(random.nextInt(5000)) + "]").getBytes(StandardCharsets.UTF_8);
      case 4 -> spec.repeat(1 + random.nextInt(400)).getBytes(StandardCharsets.UTF_8);
      default -> mutate(random, spec).getBytes(StandardCharsets.UTF_8);
    };
  }

  private static String randomNumber(Random random) {
    String[] numbers = {"1", "-1", "1e400", "NaN", "2.5", "\"3\"", "99999999999", "null", "[]"};
    return numbers[random.nextInt(numbers.length)];
  }

  private static String mutate(Random random, String spec) {
    StringBuilder text = new StringBuilder(spec);
    int edits = random.nextInt(5);
    for (int e = 0; e < edits; e++) {
      int at = random.nextInt(text.length());
      switch (random.nextInt(3)) {
        case 0 -> text.deleteCharAt(at);
        case 1 -> text.insert(at, SPEC_NOISE[random.nextInt(SPEC_NOISE.length)]);
        default -> text.setCharAt(at, SPEC_NOISE[random.nextInt(SPEC_NOISE.length)]);
      }
    }
    return text.toString();
  }
}
