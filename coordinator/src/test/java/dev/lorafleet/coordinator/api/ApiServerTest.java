package dev.lorafleet.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecWriter;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ApiServerTest {
  static final String SPEC =
      """
      name: medqa-lora
      model: /models/tiny
      datasets:
        - {path: /data/medqa.jsonl, weight: 0.9}
        - {path: /data/general.jsonl, weight: 0.1}
      cluster: {workers: 2, gpusPerWorker: 8, pricePerGpuHour: 2.5, currency: CNY}
      """;

  private static ApiTestServer server;
  private static final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    server = new ApiTestServer(ApiSettings.of("127.0.0.1", 0).withMaxBodyBytes(64 * 1024));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @BeforeEach
  void reset() {
    server.service.mode = TestingJobService.Mode.ACCEPT;
    server.service.ready = true;
    server.service.canScale = true;
  }

  static HttpResponse<String> send(String method, String path, BodyPublisher body)
      throws Exception {
    return send(method, path, body, Map.of());
  }

  static HttpResponse<String> send(
      String method, String path, BodyPublisher body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(server.uri(path))
            .timeout(Duration.ofSeconds(20))
            .method(method, body);
    headers.forEach(request::header);
    return client.send(request.build(), BodyHandlers.ofString());
  }

  static HttpResponse<String> get(String path) throws Exception {
    return send("GET", path, BodyPublishers.noBody());
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return send("POST", path, BodyPublishers.ofString(body));
  }

  /** The body as JSON, after checking the response says it is JSON. */
  static JsonNode json(HttpResponse<String> response) throws Exception {
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    return ApiJson.MAPPER.readTree(response.body());
  }

  static List<String> errors(HttpResponse<String> response) throws Exception {
    List<String> errors = new ArrayList<>();
    for (JsonNode error : json(response).get("errors")) {
      errors.add(error.get("field").asText() + ": " + error.get("message").asText());
    }
    return errors;
  }

  @Test
  void submitsAYamlSpecAndAnswers201WithTheQueuedJob() throws Exception {
    HttpResponse<String> response = post("/api/v1/jobs", SPEC);

    assertThat(response.statusCode()).isEqualTo(201);
    JsonNode job = json(response);
    String id = job.get("id").asText();
    assertThat(response.headers().firstValue("Location")).hasValue("/api/v1/jobs/" + id);
    assertThat(job.get("name").asText()).isEqualTo("medqa-lora");
    assertThat(job.get("state").asText()).isEqualTo("QUEUED");
    assertThat(job.get("currency").asText()).isEqualTo("CNY");
    // every field of DESIGN.md's job JSON is present, even before it has a value
    assertThat(job.fieldNames())
        .toIterable()
        .contains(
            "id",
            "name",
            "state",
            "epoch",
            "step",
            "totalSteps",
            "loss",
            "tokensPerSecond",
            "etaSeconds",
            "cost",
            "projectedCost",
            "currency",
            "epochs");
    assertThat(job.get("loss").isNull()).isTrue();
    JobSpec received = server.service.submitted.get(server.service.submitted.size() - 1);
    assertThat(received.datasets()).hasSize(2);
    assertThat(server.service.rawTexts).contains(SPEC);
  }

  @Test
  void submitsAJsonSpec() throws Exception {
    String json = JobSpecWriter.toJson(new dev.lorafleet.common.spec.JobSpecParser().parse(SPEC));

    HttpResponse<String> response =
        send(
            "POST",
            "/api/v1/jobs",
            BodyPublishers.ofString(json),
            Map.of("Content-Type", "application/json"));

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(json(response).get("name").asText()).isEqualTo("medqa-lora");
  }

  @Test
  void answers400WithEveryProblemByFieldPath() throws Exception {
    HttpResponse<String> response =
        post(
            "/api/v1/jobs",
            SPEC + "lora: {r: 0, targetModules: [q_proj, wte]}\n" + "training: {foo: 1}\n");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(errors(response))
        .containsExactlyInAnyOrder(
            "lora.r: must be > 0 (got 0)",
            "lora.targetModules[1]: unknown target module 'wte'; known: q_proj, k_proj, v_proj,"
                + " o_proj, gate_proj, up_proj, down_proj, all-linear",
            "training.foo: unknown field");
    assertThat(json(response).get("requestId").asText())
        .isEqualTo(response.headers().firstValue("X-Request-Id").orElseThrow());
  }

  @Test
  void refusesRelativePathsBecauseTheCoordinatorHasNoWorkingDirectory() throws Exception {
    HttpResponse<String> response =
        post("/api/v1/jobs", SPEC.replace("/data/medqa.jsonl", "data/medqa.jsonl"));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(errors(response))
        .containsExactly(
            "datasets[0].path: must be an absolute path (the coordinator has no working"
                + " directory)");
  }

  @Test
  void answers400WithTheServicesPreflightProblemsAndQueuesNothing() throws Exception {
    server.service.mode = TestingJobService.Mode.REJECT;
    int before = server.service.submitted.size();

    HttpResponse<String> response = post("/api/v1/jobs", SPEC);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(errors(response)).containsExactly("datasets[0].path: /data/a.jsonl does not exist");
    assertThat(server.service.submitted).hasSize(before);
  }

  @Test
  void answers400ForAnEmptyOrBinaryBody() throws Exception {
    assertThat(errors(post("/api/v1/jobs", ""))).containsExactly("(spec): is empty");
    HttpResponse<String> binary =
        send("POST", "/api/v1/jobs", BodyPublishers.ofByteArray(new byte[] {(byte) 0xff, 0, 1}));
    assertThat(binary.statusCode()).isEqualTo(400);
    assertThat(errors(binary)).containsExactly("(spec): is not valid UTF-8 text");
  }

  @Test
  void listsAndGetsJobsAnd404sUnknownOnes() throws Exception {
    String id = json(post("/api/v1/jobs", SPEC)).get("id").asText();

    HttpResponse<String> list = get("/api/v1/jobs");
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(json(list).findValuesAsText("id")).contains(id);

    HttpResponse<String> one = get("/api/v1/jobs/" + id);
    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(json(one).get("id").asText()).isEqualTo(id);

    HttpResponse<String> missing = get("/api/v1/jobs/job-999");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(errors(missing)).containsExactly("id: no job with id 'job-999'");

    HttpResponse<String> weird = get("/api/v1/jobs/..%2F..%2Fetc");
    assertThat(weird.statusCode()).isEqualTo(404);
    assertThat(errors(weird).get(0)).startsWith("id: no job with id");
  }

  @Test
  void cancelAnswers202WhileTheJobStopsAnd200OnceItHasEnded() throws Exception {
    String id = json(post("/api/v1/jobs", SPEC)).get("id").asText();

    HttpResponse<String> cancelling = send("DELETE", "/api/v1/jobs/" + id, BodyPublishers.noBody());
    assertThat(cancelling.statusCode()).isEqualTo(202);
    assertThat(server.service.cancelled).contains(id);

    HttpResponse<String> again = send("DELETE", "/api/v1/jobs/" + id, BodyPublishers.noBody());
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(json(again).get("state").asText()).isEqualTo("CANCELLED");

    HttpResponse<String> unknown = send("DELETE", "/api/v1/jobs/nope", BodyPublishers.noBody());
    assertThat(unknown.statusCode()).isEqualTo(404);
  }

  @Test
  void listsWorkersAndScales() throws Exception {
    HttpResponse<String> workers = get("/api/v1/workers");
    assertThat(workers.statusCode()).isEqualTo(200);
    JsonNode worker = json(workers).get(0);
    assertThat(worker.get("name").asText()).isEqualTo("gpu-node-1");
    assertThat(worker.get("devices").asInt()).isEqualTo(8);
    assertThat(worker.get("state").asText()).isEqualTo("BUSY");

    HttpResponse<String> scale = post("/api/v1/workers/scale", "{\"replicas\": 3}");
    assertThat(scale.statusCode()).isEqualTo(202);
    assertThat(json(scale).get("replicas").asInt()).isEqualTo(3);
    assertThat(server.service.scaleRequests).contains(3);
  }

  @Test
  void refusesBadScaleRequestsByField() throws Exception {
    assertThat(errors(post("/api/v1/workers/scale", "{\"replicas\": -1}")))
        .containsExactly("replicas: must be between 0 and 10000 (got -1)");
    assertThat(errors(post("/api/v1/workers/scale", "{\"replicas\": \"4\"}")))
        .containsExactly("replicas: must be a whole number, got \"4\"");
    assertThat(errors(post("/api/v1/workers/scale", "{}")))
        .containsExactly("replicas: is required");
    assertThat(errors(post("/api/v1/workers/scale", "{\"replicas\": 1, \"x\": 2}")))
        .containsExactly("x: unknown field; the body is {\"replicas\": N}");
    HttpResponse<String> notJson = post("/api/v1/workers/scale", "replicas=4");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(errors(notJson)).containsExactly("body: must be JSON like {\"replicas\": 4}");
  }

  @Test
  void answers503WhenTheCoordinatorCannotScale() throws Exception {
    server.service.canScale = false;

    HttpResponse<String> response = post("/api/v1/workers/scale", "{\"replicas\": 2}");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(errors(response).get(0)).startsWith("replicas: this coordinator does not run on");
  }

  @Test
  void reportsHealthAndReadiness() throws Exception {
    assertThat(get("/healthz").statusCode()).isEqualTo(200);
    assertThat(json(get("/readyz")).get("status").asText()).isEqualTo("ready");

    server.service.ready = false;
    HttpResponse<String> notReady = get("/readyz");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(json(notReady).get("status").asText()).isEqualTo("not ready");
  }

  @Test
  void answersUnknownEndpointsAndMethodsWithJson() throws Exception {
    HttpResponse<String> unknown = get("/api/v1/nothing");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(errors(unknown))
        .containsExactly("path: no such endpoint; see DESIGN.md for the API");

    HttpResponse<String> wrongMethod = send("PUT", "/api/v1/jobs", BodyPublishers.ofString("x"));
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    assertThat(errors(wrongMethod).get(0)).startsWith("method: ");
  }

  @Test
  void refusesABodyOverTheLimitWith413() throws Exception {
    String big = SPEC + "# " + "x".repeat(70 * 1024) + "\n";

    HttpResponse<String> declared = post("/api/v1/jobs", big);
    assertThat(declared.statusCode()).isEqualTo(413);
    assertThat(errors(declared))
        .containsExactly("body: the request body is larger than the limit of 65536 bytes");

    // chunked: no Content-Length, the limit applies while reading
    InputStream stream = new ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> chunked =
        send("POST", "/api/v1/jobs", BodyPublishers.ofInputStream(() -> stream));
    assertThat(chunked.statusCode()).isEqualTo(413);
    assertThat(json(chunked).get("errors")).hasSize(1);
  }

  @Test
  void turnsAServiceBugIntoA500NamingTheRequestWithoutAStackTrace() throws Exception {
    server.service.mode = TestingJobService.Mode.THROW;

    for (HttpResponse<String> response : List.of(post("/api/v1/jobs", SPEC), get("/api/v1/jobs"))) {
      assertThat(response.statusCode()).isEqualTo(500);
      String requestId = response.headers().firstValue("X-Request-Id").orElseThrow();
      assertThat(errors(response))
          .containsExactly(
              "request: the coordinator failed on this request; its log has the details under"
                  + " request id "
                  + requestId);
      assertThat(response.body()).doesNotContain("Exception").doesNotContain("simulated");
    }
  }

  @Test
  void answersMalformedRequestsWithJson() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          "GET /api/v1/jobs/%zz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(response).startsWith("HTTP/1.1 400");
      assertThat(response).contains("Content-Type: application/json");
      String body = response.substring(response.indexOf("\r\n\r\n") + 4);
      assertThat(ApiJson.MAPPER.readTree(body).get("errors").get(0).get("message").asText())
          .startsWith("malformed HTTP request");
    }
  }
}
