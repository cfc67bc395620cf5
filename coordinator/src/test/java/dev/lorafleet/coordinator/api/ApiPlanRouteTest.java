package dev.lorafleet.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /api/v1/plan}: the plan of a spec, without queuing it. */
class ApiPlanRouteTest {
  private static final Path QWEN =
      Path.of("..", "deploy", "examples", "models", "Qwen2.5-7B-Instruct")
          .toAbsolutePath()
          .normalize();

  private static ApiTestServer server;
  private static final HttpClient client = HttpClient.newHttpClient();

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    server = new ApiTestServer(ApiSettings.of("127.0.0.1", 0).withMaxBodyBytes(64 * 1024));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String spec(Path model) {
    return """
        name: plan-me
        model: %s
        datasets: [{path: /data/absent.jsonl}]
        lora: {r: 16, alpha: 32, targetModules: [q_proj, v_proj]}
        training: {globalBatchSize: 64, microBatchSize: 1, maxSeqLen: 256}
        cluster: {workers: 2, gpusPerWorker: 8, pricePerGpuHour: 2.5, currency: CNY}
        """
        .formatted(model);
  }

  private static HttpResponse<String> post(String body) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(server.uri("/api/v1/plan"))
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    return ApiJson.MAPPER.readTree(response.body());
  }

  private static List<String> errors(HttpResponse<String> response) throws Exception {
    List<String> errors = new ArrayList<>();
    for (JsonNode error : json(response).get("errors")) {
      errors.add(error.get("field").asText() + ": " + error.get("message").asText());
    }
    return errors;
  }

  @Test
  void answersThePlanOfASpecWithoutQueuingIt() throws Exception {
    HttpResponse<String> response = post(spec(QWEN));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode plan = json(response);
    // Qwen2.5-7B, r=16 on q,v: 28 · 16·((3584+3584) + (3584+512)) = 5,046,272
    assertThat(plan.get("trainableParams").asLong()).isEqualTo(5_046_272L);
    assertThat(plan.get("fitsOn").get("24GB").asBoolean()).isTrue();
    assertThat(plan.get("workers").asInt()).isEqualTo(2);
    assertThat(plan.get("currency").asText()).isEqualTo("CNY");
    assertThat(plan.get("tokensPerEpoch").isNull()).isTrue();
    assertThat(plan.get("unavailable").get(0).asText()).contains("tokenizer.json");
    assertThat(server.service.submitted).isEmpty();
  }

  @Test
  void answers400NamingTheModelWhenItsConfigIsUnusable() throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"BertModel\"]}");
    HttpResponse<String> response = post(spec(dir));
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(errors(response))
        .singleElement()
        .asString()
        .startsWith("model: ")
        .contains("unknown architecture 'BertModel'");

    HttpResponse<String> invalid = post("name: x\n");
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(errors(invalid)).anyMatch(e -> e.startsWith("model"));
  }
}
