package dev.lorafleet.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API with a bearer token and a short service timeout configured. */
class ApiServerAuthTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static ApiTestServer server;
  private static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    server =
        new ApiTestServer(
            ApiSettings.of("127.0.0.1", 0)
                .withBearerToken(TOKEN)
                .withServiceTimeout(Duration.ofMillis(300)));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private HttpResponse<String> get(String path, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(server.uri(path)).GET();
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return client.send(request.build(), BodyHandlers.ofString());
  }

  private static String firstError(HttpResponse<String> response) throws Exception {
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode error = ApiJson.MAPPER.readTree(response.body()).get("errors").get(0);
    return error.get("field").asText() + ": " + error.get("message").asText();
  }

  @Test
  void refusesApiCallsWithoutTheToken() throws Exception {
    HttpResponse<String> response = get("/api/v1/jobs", null);

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer realm=\"lorafleet\"");
    assertThat(firstError(response))
        .isEqualTo(
            "Authorization: this coordinator needs a token: send Authorization: Bearer <token>");
  }

  @Test
  void refusesAWrongTokenOrScheme() throws Exception {
    assertThat(get("/api/v1/jobs", "Bearer " + TOKEN + "x").statusCode()).isEqualTo(401);
    assertThat(get("/api/v1/jobs", "Bearer " + TOKEN.substring(1)).statusCode()).isEqualTo(401);
    assertThat(firstError(get("/api/v1/workers", "Bearer nope")))
        .isEqualTo("Authorization: the bearer token is not this coordinator's token");
    assertThat(firstError(get("/api/v1/jobs", "Basic " + TOKEN)))
        .isEqualTo("Authorization: the Authorization header must be 'Bearer <token>'");
  }

  @Test
  void refusesUnknownApiPathsWithoutTheTokenBeforeSaying404() throws Exception {
    assertThat(get("/api/v1/secret-endpoint", null).statusCode()).isEqualTo(401);
    assertThat(get("/api/v1/secret-endpoint", "Bearer " + TOKEN).statusCode()).isEqualTo(404);
  }

  @Test
  void acceptsTheRightTokenInAnyCaseOfTheScheme() throws Exception {
    assertThat(get("/api/v1/jobs", "Bearer " + TOKEN).statusCode()).isEqualTo(200);
    assertThat(get("/api/v1/jobs", "bearer " + TOKEN).statusCode()).isEqualTo(200);
  }

  @Test
  void healthChecksNeedNoToken() throws Exception {
    assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
    assertThat(get("/readyz", null).statusCode()).isEqualTo(200);
  }

  @Test
  void answers503WhenTheCoordinatorDoesNotAnswerInTime() throws Exception {
    server.service.mode = TestingJobService.Mode.HANG;
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(server.uri("/api/v1/jobs"))
                  .header("Authorization", "Bearer " + TOKEN)
                  .POST(HttpRequest.BodyPublishers.ofString(ApiServerTest.SPEC))
                  .build(),
              BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(firstError(response))
          .isEqualTo("request: the coordinator did not answer within 300 ms; try again");
    } finally {
      server.service.mode = TestingJobService.Mode.ACCEPT;
    }
  }
}
