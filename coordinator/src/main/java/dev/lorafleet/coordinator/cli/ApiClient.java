package dev.lorafleet.coordinator.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.coordinator.api.ApiJson;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.ScaleView;
import dev.lorafleet.coordinator.api.WorkerView;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A client of the coordinator's HTTP API (java.net.http): what {@code submit}, {@code status},
 * {@code cancel} and {@code scale} use, and {@code run} can. Every failure is an {@link
 * ApiException} whose message is one line a user can act on.
 */
public final class ApiClient {
  private static final TypeReference<List<JobView>> JOB_LIST = new TypeReference<>() {};
  private static final TypeReference<List<WorkerView>> WORKER_LIST = new TypeReference<>() {};

  private final URI base;
  private final Optional<String> token;
  private final Duration timeout;
  private final HttpClient http;

  /**
   * @param base the coordinator, e.g. {@code http://127.0.0.1:8080}
   * @param token the bearer token, when the coordinator needs one
   */
  public ApiClient(URI base, Optional<String> token, Duration timeout) {
    this.base = base;
    this.token = token;
    this.timeout = timeout;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /**
   * Checks a coordinator URL as a user typed it: {@code http(s)://host[:port]}, no path.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static URI parseBaseUrl(String url) {
    String trimmed = url.strip();
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    URI uri;
    try {
      uri = new URI(trimmed);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("coordinator URL '" + url + "' is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          "coordinator URL '" + url + "' must start with http:// or https://");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("coordinator URL '" + url + "' has no host");
    }
    if (uri.getRawPath() != null && !uri.getRawPath().isEmpty()) {
      throw new IllegalArgumentException(
          "coordinator URL '" + url + "' must not have a path; give http://HOST:PORT");
    }
    return uri;
  }

  public URI base() {
    return base;
  }

  /** Submits a spec (YAML or JSON text); the coordinator's 400 becomes {@link ApiException}. */
  public JobView submit(String specText) {
    return read(
        send("POST", "/api/v1/jobs", HttpRequest.BodyPublishers.ofString(specText)), JobView.class);
  }

  public List<JobView> jobs() {
    return read(send("GET", "/api/v1/jobs", HttpRequest.BodyPublishers.noBody()), JOB_LIST);
  }

  public JobView job(String id) {
    return read(send("GET", jobPath(id), HttpRequest.BodyPublishers.noBody()), JobView.class);
  }

  /** The API's answer as it came, for {@code --json}. */
  public String raw(String path) {
    return send("GET", path, HttpRequest.BodyPublishers.noBody()).body();
  }

  public JobView cancel(String id) {
    return read(send("DELETE", jobPath(id), HttpRequest.BodyPublishers.noBody()), JobView.class);
  }

  public List<WorkerView> workers() {
    return read(send("GET", "/api/v1/workers", HttpRequest.BodyPublishers.noBody()), WORKER_LIST);
  }

  public ScaleView scale(int replicas) {
    String body = "{\"replicas\":" + replicas + "}";
    return read(
        send("POST", "/api/v1/workers/scale", HttpRequest.BodyPublishers.ofString(body)),
        ScaleView.class);
  }

  static String jobPath(String id) {
    return "/api/v1/jobs/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Sends a request; answers a 2xx response, throws {@link ApiException} for anything else. */
  private HttpResponse<String> send(String method, String path, HttpRequest.BodyPublisher body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(timeout)
            .header("Accept", "application/json")
            .method(method, body);
    if (method.equals("POST")) {
      // a spec may be YAML or JSON (the coordinator reads both); the scale body is JSON
      request.header(
          "Content-Type", path.endsWith("/scale") ? "application/json" : "application/yaml");
    }
    token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      throw ApiException.unreachable(base, "no answer to the connection attempt within 5 s");
    } catch (ConnectException e) {
      throw ApiException.unreachable(base, "connection refused");
    } catch (HttpTimeoutException e) {
      throw new ApiException(
          0,
          List.of(),
          "the coordinator at " + base + " did not answer within " + timeout.toSeconds() + " s");
    } catch (IOException e) {
      throw ApiException.unreachable(
          base, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, List.of(), "interrupted while waiting for the coordinator");
    }
    if (response.statusCode() / 100 != 2) {
      throw ApiException.fromResponse(response.statusCode(), response.body(), base);
    }
    return response;
  }

  private static <T> T read(HttpResponse<String> response, Class<T> type) {
    try {
      return ApiJson.MAPPER.readValue(response.body(), type);
    } catch (JsonProcessingException e) {
      throw unreadable(response);
    }
  }

  private static <T> T read(HttpResponse<String> response, TypeReference<T> type) {
    try {
      return ApiJson.MAPPER.readValue(response.body(), type);
    } catch (JsonProcessingException e) {
      throw unreadable(response);
    }
  }

  private static ApiException unreadable(HttpResponse<String> response) {
    return new ApiException(
        response.statusCode(),
        List.of(),
        "the coordinator's answer to " + response.request().uri() + " is not the JSON expected");
  }

  /** A refused or failed API call; the message is one line, {@link #errors()} has them all. */
  public static final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final transient List<SpecProblem> errors;

    ApiException(int status, List<SpecProblem> errors, String message) {
      super(message, null, false, false);
      this.status = status;
      this.errors = List.copyOf(errors);
    }

    static ApiException unreachable(URI base, String why) {
      return new ApiException(
          0,
          List.of(),
          "cannot reach the coordinator at "
              + base
              + " ("
              + why
              + "); is it running? (set --coordinator or LORAFLEET_COORDINATOR)");
    }

    static ApiException fromResponse(int status, String body, URI base) {
      List<SpecProblem> errors = new ArrayList<>();
      try {
        JsonNode root = ApiJson.MAPPER.readTree(body);
        JsonNode list = root == null ? null : root.get("errors");
        if (list != null && list.isArray()) {
          for (JsonNode error : list) {
            errors.add(
                new SpecProblem(
                    error.path("field").asText("request"), error.path("message").asText("")));
          }
        }
      } catch (JsonProcessingException e) {
        // not our coordinator (a proxy's HTML page?): say so below
      }
      if (errors.isEmpty()) {
        return new ApiException(
            status,
            errors,
            "the coordinator at " + base + " answered HTTP " + status + " without an explanation");
      }
      String message =
          errors.size() == 1
              ? errors.get(0).toString()
              : errors.get(0) + " (and " + (errors.size() - 1) + " more)";
      return new ApiException(status, errors, message);
    }

    /** The HTTP status; 0 when the coordinator was not reached. */
    public int status() {
      return status;
    }

    /** Every error the coordinator listed (a refused spec lists one per field). */
    public List<SpecProblem> errors() {
      return errors;
    }
  }
}
