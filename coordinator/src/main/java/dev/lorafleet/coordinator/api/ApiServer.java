package dev.lorafleet.coordinator.api;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.extractMaterializer;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeoutResponse;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.common.model.ModelConfigException;
import dev.lorafleet.common.plan.PlanJson;
import dev.lorafleet.common.spec.InvalidSpecException;
import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.common.spec.SpecProblem;
import dev.lorafleet.coordinator.plan.PlanService;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP API (DESIGN.md): jobs, workers, health. Talks to the rest of the
 * coordinator only through {@link JobService}. Every answer is JSON, errors included ({@link
 * ErrorBody}); a surprise becomes a 500 that names the request id, logged with its stack trace,
 * never a stack trace in the response.
 *
 * <pre>
 * POST   /api/v1/jobs            YAML or JSON spec → 201 job | 400 errors by field path
 * GET    /api/v1/jobs            → 200 [job…]
 * GET    /api/v1/jobs/{id}       → 200 job | 404
 * DELETE /api/v1/jobs/{id}       → 202 job (cancelling) | 200 job (already ended) | 404
 * POST   /api/v1/plan            YAML or JSON spec → 200 plan (see PlanJson) | 400
 * GET    /api/v1/workers         → 200 [worker…]
 * POST   /api/v1/workers/scale   {"replicas": N} → 202 {"replicas", "currentWorkers"}
 * GET    /healthz, /readyz       → 200 | 503 (never need the token)
 * </pre>
 */
public final class ApiServer {
  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

  /** Ids the coordinator hands out are short and plain; anything else cannot name a job. */
  private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private static final int MAX_REPLICAS = 10_000;

  /** One thread: plans are rare, and one at a time bounds what tokenizing datasets costs. */
  private static final Executor PLAN_EXECUTOR =
      Executors.newSingleThreadExecutor(
          task -> {
            Thread thread = new Thread(task, "lorafleet-plan");
            thread.setDaemon(true);
            return thread;
          });

  private final JobService service;
  private final ApiSettings settings;
  private final JobSpecParser parser;
  private final byte[] tokenDigest;

  public ApiServer(JobService service, ApiSettings settings) {
    this.service = service;
    this.settings = settings;
    this.parser = new JobSpecParser(settings.pathPolicy(), (int) settings.maxBodyBytes());
    this.tokenDigest = settings.bearerToken().map(ApiServer::sha256).orElse(null);
  }

  /** Binds the API on the settings' host and port; the binding says the port actually bound. */
  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, JobService service, ApiSettings settings) {
    return new ApiServer(service, settings).bind(system);
  }

  /** Binds this API's routes on the settings' host and port. */
  public CompletionStage<ServerBinding> bind(ActorSystem<?> system) {
    ServerSettings serverSettings =
        ServerSettings.create(system.classicSystem())
            .withParsingErrorHandler(JsonParsingErrorHandler.class.getName());
    return Http.get(system)
        .newServerAt(settings.host(), settings.port())
        .withSettings(serverSettings)
        .bind(route())
        .thenApply(
            binding -> {
              log.info(
                  "The HTTP API listens on http://{}:{}/api/v1 ({}).",
                  settings.host(),
                  binding.localAddress().getPort(),
                  tokenDigest == null
                      ? "no token configured: anyone who reaches the port can submit jobs"
                      : "a bearer token is required");
              return binding;
            });
  }

  /** The routes, for binding or for tests. */
  public Route route() {
    return extractRequest(
        request -> {
          String requestId = newRequestId();
          return respondWithHeader(
              RawHeader.create("X-Request-Id", requestId),
              () ->
                  withRequestTimeoutResponse(
                      timedOut -> serviceTimeout(requestId),
                      () ->
                          handleExceptions(
                              exceptionHandler(request, requestId),
                              () ->
                                  handleRejections(
                                      rejectionHandler(requestId),
                                      () ->
                                          request.method().name().equals("POST")
                                              ? routes(requestId)
                                              : discardingBody(() -> routes(requestId))))));
        });
  }

  private Route routes(String requestId) {
    return concat(
        path("healthz", () -> get(() -> complete(json(200, Map.of("status", "ok"))))),
        path("readyz", () -> get(() -> answer(readiness(), requestId))),
        pathPrefix(
            "api", () -> authorized(requestId, () -> pathPrefix("v1", () -> v1(requestId)))));
  }

  private Route v1(String requestId) {
    return concat(
        pathPrefix(
            "jobs",
            () ->
                concat(
                    pathEndOrSingleSlash(
                        () ->
                            concat(
                                post(() -> submit(requestId)),
                                get(() -> answer(listJobs(), requestId)))),
                    path(
                        segment(),
                        id ->
                            concat(
                                get(() -> answer(getJob(id), requestId)),
                                delete(() -> answer(cancelJob(id), requestId)))))),
        path("plan", () -> post(() -> withBody(requestId, body -> plan(body, requestId)))),
        pathPrefix(
            "workers",
            () ->
                concat(
                    pathEndOrSingleSlash(() -> get(() -> answer(workers(), requestId))),
                    path("scale", () -> post(() -> withBody(requestId, this::scale))))));
  }

  // ---- endpoints ------------------------------------------------------------------------------

  private Route submit(String requestId) {
    return withBody(requestId, body -> submitBody(body, requestId));
  }

  private CompletionStage<HttpResponse> submitBody(byte[] body, String requestId) {
    JobSpec spec;
    try {
      spec = parser.parse(body, "(request body)");
    } catch (InvalidSpecException e) {
      return CompletableFuture.completedFuture(errors(400, e.problems(), requestId));
    }
    String text = new String(body, StandardCharsets.UTF_8);
    return call(() -> service.submit(spec, text))
        .thenApply(
            result -> {
              if (result instanceof SubmitResult.Accepted accepted) {
                return json(201, accepted.job())
                    .addHeader(Location.create("/api/v1/jobs/" + accepted.job().id()));
              }
              return errors(400, ((SubmitResult.Rejected) result).problems(), requestId);
            });
  }

  /**
   * Plans a spec without queuing it; reading config.json and datasets blocks, so off-dispatcher.
   */
  private CompletionStage<HttpResponse> plan(byte[] body, String requestId) {
    JobSpec spec;
    try {
      spec = parser.parse(body, "(request body)");
    } catch (InvalidSpecException e) {
      return CompletableFuture.completedFuture(errors(400, e.problems(), requestId));
    }
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return json(200, PlanJson.toTree(PlanService.plan(spec, PlanService.Options.NONE)));
          } catch (ModelConfigException e) {
            throw invalid("model", e.getMessage());
          }
        },
        PLAN_EXECUTOR);
  }

  private CompletionStage<HttpResponse> listJobs() {
    return call(service::list).thenApply(jobs -> json(200, jobs));
  }

  private CompletionStage<HttpResponse> getJob(String id) {
    if (!JOB_ID.matcher(id).matches()) {
      return CompletableFuture.failedFuture(JobServiceException.notFound(clip(id)));
    }
    return call(() -> service.get(id)).thenApply(job -> json(200, job));
  }

  private CompletionStage<HttpResponse> cancelJob(String id) {
    if (!JOB_ID.matcher(id).matches()) {
      return CompletableFuture.failedFuture(JobServiceException.notFound(clip(id)));
    }
    return call(() -> service.cancel(id))
        .thenApply(job -> json(job.state().isTerminal() ? 200 : 202, job));
  }

  private CompletionStage<HttpResponse> workers() {
    return call(service::workers).thenApply(workers -> json(200, workers));
  }

  private CompletionStage<HttpResponse> scale(byte[] body) {
    int replicas;
    try {
      replicas = replicas(body);
    } catch (JobServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    return call(() -> service.scale(replicas)).thenApply(view -> json(202, view));
  }

  /** Reads {@code {"replicas": N}}, refusing anything else with a field-named 400. */
  private static int replicas(byte[] body) {
    JsonNode root;
    try {
      root = ApiJson.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw invalid("body", "must be JSON like {\"replicas\": 4}");
    } catch (java.io.IOException e) {
      throw invalid("body", "cannot be read");
    }
    if (root == null || !root.isObject()) {
      throw invalid("body", "must be a JSON object like {\"replicas\": 4}");
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("replicas")) {
        throw invalid(clip(name), "unknown field; the body is {\"replicas\": N}");
      }
    }
    JsonNode replicas = root.get("replicas");
    if (replicas == null || replicas.isNull()) {
      throw invalid("replicas", "is required");
    }
    if (!replicas.isIntegralNumber() || !replicas.canConvertToInt()) {
      throw invalid("replicas", "must be a whole number, got " + clip(replicas.toString()));
    }
    int value = replicas.intValue();
    if (value < 0 || value > MAX_REPLICAS) {
      throw invalid("replicas", "must be between 0 and " + MAX_REPLICAS + " (got " + value + ")");
    }
    return value;
  }

  private CompletionStage<HttpResponse> readiness() {
    return call(service::ready)
        .thenApply(
            ready ->
                Boolean.TRUE.equals(ready)
                    ? json(200, Map.of("status", "ready"))
                    : json(503, Map.of("status", "not ready")));
  }

  // ---- plumbing: bodies, auth, errors --------------------------------------------------------

  /** Reads the whole body within the size limit, then hands it to {@code handler}. */
  private Route withBody(
      String requestId, Function<byte[], CompletionStage<HttpResponse>> handler) {
    return extractRequestEntity(
        entity ->
            extractMaterializer(
                materializer -> {
                  CompletionStage<HttpResponse> response =
                      entity
                          .withSizeLimit(settings.maxBodyBytes())
                          .toStrict(settings.serviceTimeout().toMillis(), materializer)
                          .thenCompose(strict -> handler.apply(strict.getData().toArray()));
                  return answer(response, requestId);
                }));
  }

  /** Completes with the response, turning a failed stage into its JSON error. */
  private Route answer(CompletionStage<HttpResponse> response, String requestId) {
    return extractRequest(
        request ->
            completeWithFuture(
                response
                    .toCompletableFuture()
                    .orTimeout(settings.serviceTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(failure -> failureResponse(failure, request, requestId))));
  }

  /** Calls the service, turning a synchronous throw into a failed stage like any other. */
  private static <T> CompletionStage<T> call(Supplier<CompletionStage<T>> call) {
    try {
      CompletionStage<T> stage = call.get();
      if (stage == null) {
        return CompletableFuture.failedFuture(
            new IllegalStateException("the job service answered null"));
      }
      return stage;
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private Route authorized(String requestId, Supplier<Route> inner) {
    if (tokenDigest == null) {
      return inner.get();
    }
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          Optional<String> token = header.flatMap(ApiServer::bearerToken);
          if (token.isPresent() && MessageDigest.isEqual(tokenDigest, sha256(token.get()))) {
            return inner.get();
          }
          String message =
              header.isEmpty()
                  ? "this coordinator needs a token: send Authorization: Bearer <token>"
                  : token.isEmpty()
                      ? "the Authorization header must be 'Bearer <token>'"
                      : "the bearer token is not this coordinator's token";
          log.info("Refused request {}: {}.", requestId, message);
          return discardingBody(
              () ->
                  complete(
                      error(401, "Authorization", message, requestId)
                          .addHeader(
                              RawHeader.create("WWW-Authenticate", "Bearer realm=\"lorafleet\""))));
        });
  }

  /**
   * Drains a body the route will not read, so that Pekko need not answer "early" and close the
   * connection (a GET with a body, a POST refused before its body is read).
   */
  private static Route discardingBody(Supplier<Route> inner) {
    return extractRequest(
        request ->
            extractMaterializer(
                materializer ->
                    onSuccess(
                        request.discardEntityBytes(materializer).completionStage(),
                        drained -> inner.get())));
  }

  private static Optional<String> bearerToken(String header) {
    String trimmed = header.strip();
    if (trimmed.length() > 7
        && trimmed.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      return Optional.of(trimmed.substring(7).strip());
    }
    return Optional.empty();
  }

  /** Hashing first makes the comparison constant-time in the token's length as well. */
  private static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  private HttpResponse failureResponse(Throwable failure, HttpRequest request, String requestId) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof JobServiceException e) {
      return error(
          e.kind().status(), e.field() == null ? "request" : e.field(), e.getMessage(), requestId);
    }
    if (cause instanceof EntityStreamSizeException) {
      return error(
          413,
          "body",
          "the request body is larger than the limit of " + settings.maxBodyBytes() + " bytes",
          requestId);
    }
    if (cause instanceof EntityStreamException e) {
      return error(400, "body", "the request body could not be read: " + e.getMessage(), requestId);
    }
    if (cause instanceof TimeoutException) {
      log.warn(
          "Request {} ({} {}) got no answer from the coordinator within {} ms.",
          requestId,
          request.method().name(),
          request.getUri().path(),
          settings.serviceTimeout().toMillis());
      return serviceTimeout(requestId);
    }
    log.error(
        "Request {} ({} {}) failed unexpectedly; it was answered with a 500.",
        requestId,
        request.method().name(),
        request.getUri().path(),
        cause);
    return internalError(requestId);
  }

  private ExceptionHandler exceptionHandler(HttpRequest request, String requestId) {
    return ExceptionHandler.newBuilder()
        .matchAny(failure -> complete(failureResponse(failure, request, requestId)))
        .build();
  }

  /** Pekko's standard rejections (404, 405, …) with their text moved into the JSON error. */
  private static RejectionHandler rejectionHandler(String requestId) {
    return RejectionHandler.defaultHandler()
        .mapRejectionResponse(
            response -> {
              String field = response.status().intValue() == 405 ? "method" : "path";
              String message = "request refused";
              HttpEntity entity = response.entity();
              if (entity instanceof HttpEntity.Strict strict && !strict.getData().isEmpty()) {
                message = strict.getData().utf8String();
              }
              if (response.status().intValue() == 404) {
                message = "no such endpoint; see DESIGN.md for the API";
              }
              return error(response.status().intValue(), field, message, requestId);
            })
        .seal();
  }

  private HttpResponse serviceTimeout(String requestId) {
    return error(
        503,
        "request",
        "the coordinator did not answer within "
            + settings.serviceTimeout().toMillis()
            + " ms; try again",
        requestId);
  }

  private static HttpResponse internalError(String requestId) {
    return error(
        500,
        "request",
        "the coordinator failed on this request; its log has the details under request id "
            + requestId,
        requestId);
  }

  private static JobServiceException invalid(String field, String message) {
    return new JobServiceException(JobServiceException.Kind.INVALID, field, message);
  }

  private static HttpResponse errors(int status, List<SpecProblem> problems, String requestId) {
    return json(status, new ErrorBody(problems, requestId));
  }

  private static HttpResponse error(int status, String field, String message, String requestId) {
    return json(status, ErrorBody.of(field, message, requestId));
  }

  private static HttpResponse json(int status, Object body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, ApiJson.write(body)));
  }

  private static String newRequestId() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
  }

  private static String clip(String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length() && out.length() < 60; i++) {
      char c = text.charAt(i);
      out.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return text.length() > 60 ? out + "…" : out.toString();
  }
}
