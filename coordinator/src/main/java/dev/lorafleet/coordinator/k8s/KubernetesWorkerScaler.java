package dev.lorafleet.coordinator.k8s;

import com.google.gson.reflect.TypeToken;
import dev.lorafleet.coordinator.k8s.ApiErrors.Access;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AppsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodList;
import io.kubernetes.client.openapi.models.V1Scale;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import io.kubernetes.client.util.PatchUtils;
import io.kubernetes.client.util.Watch;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import okhttp3.Call;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scales the worker StatefulSet through the Kubernetes API, and watches its pods become ready.
 *
 * <p>Only the {@code scale} subresource is touched (get, then a JSON merge patch carrying the
 * resourceVersion read, so that a concurrent change makes it 409 and it re-reads), and pods are
 * read (list, watch, get). These are exactly the verbs the Helm chart's Role grants. Conflicts,
 * throttling, server errors and timeouts are retried with bounded exponential back-off; 401, 403,
 * 404 and 422 are not, and come back as a {@link ScalerFailure} that says what to fix.
 *
 * <p>Blocking; no Pekko here. Thread-safe: the only state is the pods' label selector, cached.
 */
public final class KubernetesWorkerScaler implements WorkerScaler {
  private static final Logger log = LoggerFactory.getLogger(KubernetesWorkerScaler.class);

  /** Recorded by the API server as the owner of the replica field. */
  static final String FIELD_MANAGER = "lorafleet-coordinator";

  private static final Type POD_EVENT = new TypeToken<Watch.Response<V1Pod>>() {}.getType();
  private static final Duration QUICK_WATCH = Duration.ofSeconds(1);

  private final ApiClient client;
  private final ApiClient watchClient;
  private final AppsV1Api apps;
  private final CoreV1Api core;
  private final CoreV1Api watchCore;
  private final KubernetesSettings settings;
  private final Clock clock;
  private final Sleeper sleeper;
  private final Access getScale;
  private final Access patchScale;
  private final Access listPods;
  private final Access watchPods;
  private volatile String podSelector;

  /**
   * @param client for ordinary requests (its read timeout is the request timeout)
   * @param watchClient for pod watches (a read timeout longer than {@code watchTimeout})
   */
  public KubernetesWorkerScaler(
      ApiClient client,
      ApiClient watchClient,
      KubernetesSettings settings,
      Clock clock,
      Sleeper sleeper) {
    this.client = Objects.requireNonNull(client, "client");
    this.watchClient = Objects.requireNonNull(watchClient, "watchClient");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    this.apps = new AppsV1Api(client);
    this.core = new CoreV1Api(client);
    this.watchCore = new CoreV1Api(watchClient);
    String name = settings.statefulSet();
    this.getScale = new Access("get", "apps", "statefulsets/scale", name);
    this.patchScale = new Access("patch", "apps", "statefulsets/scale", name);
    this.listPods = new Access("list", "", "pods", null);
    this.watchPods = new Access("watch", "", "pods", null);
  }

  /**
   * Connects with the pod's service account, or with a kubeconfig when the coordinator runs outside
   * the cluster.
   */
  public static KubernetesWorkerScaler connect(KubernetesSettings.On detected) throws IOException {
    KubernetesSettings settings = detected.settings();
    Duration watchRead = settings.watchTimeout().plus(Duration.ofSeconds(30));
    ApiClient requests =
        builder(detected.kubeconfig()).setReadTimeout(settings.requestTimeout()).build();
    ApiClient watches = builder(detected.kubeconfig()).setReadTimeout(watchRead).build();
    int connectMillis = (int) settings.requestTimeout().toMillis();
    requests.setConnectTimeout(connectMillis);
    watches.setConnectTimeout(connectMillis);
    return new KubernetesWorkerScaler(requests, watches, settings, Clock.systemUTC(), Sleeper.REAL);
  }

  static ClientBuilder builder(Optional<Path> kubeconfig) throws IOException {
    if (kubeconfig.isEmpty()) {
      return ClientBuilder.cluster();
    }
    try (Reader reader = Files.newBufferedReader(kubeconfig.get(), StandardCharsets.UTF_8)) {
      KubeConfig config = KubeConfig.loadKubeConfig(reader);
      config.setFile(kubeconfig.get().toFile());
      return ClientBuilder.kubeconfig(config);
    }
  }

  @Override
  public boolean enabled() {
    return true;
  }

  public KubernetesSettings settings() {
    return settings;
  }

  @Override
  public ScaleResult scale(int replicas) {
    if (replicas < 0) {
      return new ScalerFailure(
          ScalerFailure.Reason.INVALID,
          "cannot scale workers to " + replicas + ": the count must be 0 or more");
    }
    Outcome<ScaleResult> outcome =
        retrying(
            "scaling workers to " + replicas,
            settings.backoff(),
            attempt -> {
              V1Scale current = readScale();
              int from = specReplicas(current);
              if (from == replicas) {
                return new ScaleResult.Unchanged(replicas);
              }
              V1Scale patched = patchScale(replicas, current.getMetadata().getResourceVersion());
              return new ScaleResult.Scaled(from, specReplicas(patched), attempt);
            });
    return outcome instanceof Done<ScaleResult> done
        ? done.value()
        : ((Failed<ScaleResult>) outcome).failure();
  }

  @Override
  public ReadinessResult awaitReady(int replicas, Duration bound) {
    Instant deadline = clock.instant().plus(bound);
    String selector;
    try {
      selector = selector();
    } catch (FailedException e) {
      return e.failure;
    }
    int quickEnds = 0;
    Map<String, V1Pod> pods;
    while (true) {
      Outcome<V1PodList> listed =
          retrying("listing worker pods", settings.backoff(), a -> listPods(selector));
      if (listed instanceof Failed<V1PodList> failed) {
        return failed.failure();
      }
      V1PodList list = ((Done<V1PodList>) listed).value();
      pods = byName(list.getItems());
      if (PodReadiness.summarize(settings.statefulSet(), pods.values(), replicas).allReady()) {
        return new ReadinessResult.AllReady(replicas);
      }
      Instant watchStart = clock.instant();
      if (!watchStart.isBefore(deadline)) {
        break;
      }
      String resourceVersion =
          list.getMetadata() == null ? null : list.getMetadata().getResourceVersion();
      try {
        if (watch(selector, resourceVersion, deadline, pods, replicas) == WatchEnd.READY) {
          return new ReadinessResult.AllReady(replicas);
        }
      } catch (FailedException e) {
        return e.failure;
      }
      // a watch that ends at once (a proxy closing it, a 410 Gone) must not turn into a busy loop
      if (Duration.between(watchStart, clock.instant()).compareTo(QUICK_WATCH) < 0) {
        try {
          sleeper.sleep(settings.backoff().delayAfter(++quickEnds));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return interrupted("waiting for worker pods");
        }
      } else {
        quickEnds = 0;
      }
    }
    return notReady(replicas, bound, pods);
  }

  @Override
  public WorkerPoolStatus status() {
    Backoff once = new Backoff(Duration.ZERO, Duration.ZERO, 1);
    Outcome<V1Scale> scale = retrying("reading the worker pool", once, a -> readScale());
    if (scale instanceof Failed<V1Scale> failed) {
      return unknownStatus(failed.failure().message());
    }
    V1Scale current = ((Done<V1Scale>) scale).value();
    String selector = podSelector;
    Outcome<V1PodList> listed = retrying("listing worker pods", once, a -> listPods(selector));
    if (listed instanceof Failed<V1PodList> failed) {
      return unknownStatus(failed.failure().message());
    }
    List<WorkerPod> pods =
        PodReadiness.describeAll(
            settings.statefulSet(), ((Done<V1PodList>) listed).value().getItems());
    int ready = (int) pods.stream().filter(WorkerPod::ready).count();
    int wanted = specReplicas(current);
    Integer existing = current.getStatus() == null ? null : current.getStatus().getReplicas();
    return new WorkerPoolStatus(
        true,
        wanted == 0 && pods.isEmpty()
            ? "no worker pods (scaled to zero)"
            : ready + " of " + wanted + " worker pods ready",
        settings.namespace(),
        settings.statefulSet(),
        wanted,
        existing,
        ready,
        pods);
  }

  private WorkerPoolStatus unknownStatus(String message) {
    return new WorkerPoolStatus(
        true, message, settings.namespace(), settings.statefulSet(), null, null, 0, List.of());
  }

  // --- readiness

  private enum WatchEnd {
    /** The wanted pods are ready. */
    READY,
    /** The watch ended (timeout, deadline, dropped stream, 410 Gone): list again. */
    ENDED
  }

  /** Follows pod events until the wanted pods are ready, the deadline passes or the watch ends. */
  private WatchEnd watch(
      String selector,
      String resourceVersion,
      Instant deadline,
      Map<String, V1Pod> pods,
      int replicas)
      throws FailedException {
    long remaining = Duration.between(clock.instant(), deadline).toSeconds();
    int timeoutSeconds =
        (int) Math.max(1, Math.min(remaining, settings.watchTimeout().toSeconds()));
    try {
      Call call =
          watchCore
              .listNamespacedPod(settings.namespace())
              .labelSelector(selector)
              .resourceVersion(resourceVersion)
              .allowWatchBookmarks(true)
              .timeoutSeconds(timeoutSeconds)
              .watch(true)
              .buildCall(null);
      try (Watch<V1Pod> events = Watch.createWatch(watchClient, call, POD_EVENT)) {
        for (Watch.Response<V1Pod> event : events) {
          if (event.object != null && event.object.getMetadata() != null) {
            switch (event.type) {
              case "ADDED", "MODIFIED" ->
                  pods.put(event.object.getMetadata().getName(), event.object);
              case "DELETED" -> pods.remove(event.object.getMetadata().getName());
              default -> {
                // BOOKMARK: only a resourceVersion
              }
            }
          }
          if ("ERROR".equals(event.type)) {
            return WatchEnd.ENDED; // e.g. 410 Gone: the next list starts afresh
          }
          if (PodReadiness.summarize(settings.statefulSet(), pods.values(), replicas).allReady()) {
            return WatchEnd.READY;
          }
          if (!clock.instant().isBefore(deadline)) {
            return WatchEnd.ENDED;
          }
        }
      }
      return WatchEnd.ENDED;
    } catch (ApiException e) {
      if (ApiErrors.retryable(e)) {
        log.debug("Watching worker pods stopped ({}); listing them again", e.getCode());
        return WatchEnd.ENDED;
      }
      throw new FailedException(failure(watchPods, e));
    } catch (IOException | RuntimeException e) {
      // the stream broke (the client wraps read errors in RuntimeException): list again
      log.debug("Watching worker pods stopped: {}; listing them again", e.toString());
      return WatchEnd.ENDED;
    }
  }

  private ReadinessResult notReady(int replicas, Duration bound, Map<String, V1Pod> pods) {
    PodReadiness.Summary summary =
        PodReadiness.summarize(settings.statefulSet(), pods.values(), replicas);
    List<WorkerPod> notReady = new ArrayList<>();
    for (WorkerPod pod : summary.notReady()) {
      WorkerPod now = refresh(pod);
      if (!now.ready()) {
        notReady.add(now);
      }
    }
    if (notReady.isEmpty()) {
      return new ReadinessResult.AllReady(replicas); // became ready at the last moment
    }
    return new ReadinessResult.NotReady(
        replicas - notReady.size(), replicas, Durations.format(bound), notReady);
  }

  /** The pod as it is now (get), for the freshest reason; the listed state when that fails. */
  private WorkerPod refresh(WorkerPod listed) {
    Access getPod = new Access("get", "", "pods", listed.name());
    try {
      V1Pod pod = core.readNamespacedPod(listed.name(), settings.namespace()).execute();
      return PodReadiness.describe(pod);
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return PodReadiness.missing(listed.name());
      }
      log.debug("Could not re-read pod {}: {}", listed.name(), failure(getPod, e).message());
      return listed;
    }
  }

  // --- requests

  private V1Scale readScale() throws FailedException, RetryException {
    V1Scale scale =
        request(
            getScale,
            () ->
                apps.readNamespacedStatefulSetScale(settings.statefulSet(), settings.namespace())
                    .execute());
    if (scale.getStatus() != null && scale.getStatus().getSelector() != null) {
      podSelector = scale.getStatus().getSelector();
    }
    return scale;
  }

  private V1Scale patchScale(int replicas, String resourceVersion)
      throws FailedException, RetryException {
    // merge patch with the resourceVersion read: the API answers 409 if the count changed since
    String metadata =
        resourceVersion == null
            ? ""
            : "\"metadata\":{\"resourceVersion\":\"" + jsonEscape(resourceVersion) + "\"},";
    V1Patch body = new V1Patch("{" + metadata + "\"spec\":{\"replicas\":" + replicas + "}}");
    return request(
        patchScale,
        () ->
            PatchUtils.patch(
                V1Scale.class,
                () ->
                    apps.patchNamespacedStatefulSetScale(
                            settings.statefulSet(), settings.namespace(), body)
                        .fieldManager(FIELD_MANAGER)
                        .buildCall(null),
                V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
                client));
  }

  private V1PodList listPods(String selector) throws FailedException, RetryException {
    String labels = selector == null ? selector() : selector;
    return request(
        listPods,
        () -> core.listNamespacedPod(settings.namespace()).labelSelector(labels).execute());
  }

  /**
   * The pods' label selector, from the scale subresource (which needs no access to the
   * StatefulSet).
   */
  private String selector() throws FailedException {
    String known = podSelector;
    if (known != null) {
      return known;
    }
    Outcome<V1Scale> read =
        retrying("reading the worker StatefulSet's selector", settings.backoff(), a -> readScale());
    if (read instanceof Failed<V1Scale> failed) {
      throw new FailedException(failed.failure());
    }
    if (podSelector == null) {
      throw new FailedException(
          new ScalerFailure(
              ScalerFailure.Reason.INVALID,
              "the scale subresource of StatefulSet \""
                  + settings.statefulSet()
                  + "\" in namespace \""
                  + settings.namespace()
                  + "\" reports no pod selector; is it a StatefulSet?"));
    }
    return podSelector;
  }

  private static int specReplicas(V1Scale scale) {
    return scale.getSpec() == null || scale.getSpec().getReplicas() == null
        ? 0
        : scale.getSpec().getReplicas();
  }

  private static Map<String, V1Pod> byName(List<V1Pod> pods) {
    Map<String, V1Pod> byName = new LinkedHashMap<>();
    for (V1Pod pod : pods) {
      byName.put(pod.getMetadata().getName(), pod);
    }
    return byName;
  }

  private static String jsonEscape(String text) {
    return text.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  // --- retries

  @FunctionalInterface
  private interface ApiCall<T> {
    T call() throws ApiException;
  }

  @FunctionalInterface
  private interface Attempt<T> {
    T run(int attempt) throws FailedException, RetryException;
  }

  private sealed interface Outcome<T> permits Done, Failed {}

  private record Done<T>(T value) implements Outcome<T> {}

  private record Failed<T>(ScalerFailure failure) implements Outcome<T> {}

  /** A refusal not worth retrying. */
  private static final class FailedException extends Exception {
    final ScalerFailure failure;

    FailedException(ScalerFailure failure) {
      super(failure.message(), null, false, false);
      this.failure = failure;
    }
  }

  /** A conflict, throttling, server error or timeout: worth another attempt. */
  private static final class RetryException extends Exception {
    final ScalerFailure failure;

    RetryException(ScalerFailure failure) {
      super(failure.message(), null, false, false);
      this.failure = failure;
    }
  }

  private <T> T request(Access access, ApiCall<T> call) throws FailedException, RetryException {
    try {
      return call.call();
    } catch (ApiException e) {
      ScalerFailure failure = failure(access, e);
      if (ApiErrors.retryable(e)) {
        throw new RetryException(failure);
      }
      throw new FailedException(failure);
    }
  }

  private <T> Outcome<T> retrying(String what, Backoff backoff, Attempt<T> body) {
    ScalerFailure last = null;
    for (int attempt = 1; attempt <= backoff.maxAttempts(); attempt++) {
      try {
        return new Done<>(body.run(attempt));
      } catch (FailedException e) {
        return new Failed<>(e.failure);
      } catch (RetryException e) {
        last = e.failure;
        if (attempt == backoff.maxAttempts()) {
          break;
        }
        Duration pause = backoff.delayAfter(attempt);
        log.info(
            "{} did not work yet ({}); trying again in {} (attempt {} of {})",
            capitalize(what),
            e.failure.message(),
            Durations.format(pause),
            attempt + 1,
            backoff.maxAttempts());
        try {
          sleeper.sleep(pause);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return new Failed<>(interrupted(what));
        }
      }
    }
    return new Failed<>(
        new ScalerFailure(
            ScalerFailure.Reason.UNAVAILABLE,
            "gave up "
                + what
                + " after "
                + backoff.maxAttempts()
                + (backoff.maxAttempts() == 1 ? " attempt: " : " attempts: ")
                + Objects.requireNonNull(last).message()));
  }

  private ScalerFailure failure(Access access, ApiException e) {
    return ApiErrors.failure(
        access, e, settings.namespace(), client.getBasePath(), settings.requestTimeout());
  }

  private static ScalerFailure interrupted(String what) {
    return new ScalerFailure(ScalerFailure.Reason.INTERRUPTED, what + " was interrupted");
  }

  private static String capitalize(String text) {
    return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
