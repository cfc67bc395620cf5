package dev.lorafleet.coordinator.k8s;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where the worker pool is and how to treat the API server, read from the environment the Helm
 * chart gives the coordinator.
 *
 * @param namespace the worker StatefulSet's namespace
 * @param statefulSet the worker StatefulSet's name
 * @param policy how far and when to scale
 * @param readyTimeout how long a new worker pod may take to become ready before it is reported
 * @param requestTimeout how long one API request may take
 * @param backoff retries of conflicting, timed-out and throttled requests
 * @param watchTimeout the longest single pod watch (the API server closes it after this)
 */
public record KubernetesSettings(
    String namespace,
    String statefulSet,
    ScalingPolicy policy,
    Duration readyTimeout,
    Duration requestTimeout,
    Backoff backoff,
    Duration watchTimeout) {

  public static final String STATEFULSET = "LORAFLEET_K8S_STATEFULSET";
  public static final String NAMESPACE = "LORAFLEET_K8S_NAMESPACE";
  public static final String MIN_WORKERS = "LORAFLEET_K8S_MIN_WORKERS";
  public static final String MAX_WORKERS = "LORAFLEET_K8S_MAX_WORKERS";
  public static final String SCALE_TO_ZERO = "LORAFLEET_K8S_SCALE_TO_ZERO";
  public static final String IDLE_GRACE = "LORAFLEET_K8S_IDLE_GRACE";
  public static final String READY_TIMEOUT = "LORAFLEET_K8S_READY_TIMEOUT";
  public static final String MAX_CONCURRENT_JOBS = "LORAFLEET_K8S_MAX_CONCURRENT_JOBS";
  public static final String REQUEST_TIMEOUT = "LORAFLEET_K8S_REQUEST_TIMEOUT";

  /** Set by the kubelet in every pod: how we know we run in Kubernetes. */
  public static final String KUBERNETES_SERVICE_HOST = "KUBERNETES_SERVICE_HOST";

  /** The service account's namespace, mounted into every pod that has a token. */
  public static final Path SERVICE_ACCOUNT_NAMESPACE =
      Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  public KubernetesSettings {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(statefulSet, "statefulSet");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(readyTimeout, "readyTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(backoff, "backoff");
    Objects.requireNonNull(watchTimeout, "watchTimeout");
  }

  /** Settings for a StatefulSet with the chart's defaults otherwise. */
  public static KubernetesSettings of(String namespace, String statefulSet) {
    return new KubernetesSettings(
        namespace,
        statefulSet,
        ScalingPolicy.DEFAULT,
        Duration.ofMinutes(20),
        Duration.ofSeconds(15),
        Backoff.DEFAULT,
        Duration.ofMinutes(5));
  }

  /** Where scaling stands for this process. */
  public sealed interface Detection permits Off, On {}

  /** Scaling is off, for the reason given. */
  public record Off(String reason) implements Detection {}

  /**
   * Scaling is on.
   *
   * @param settings what to scale and how
   * @param kubeconfig empty in a pod (the service account's credentials); else the kubeconfig to
   *     use (a coordinator run outside the cluster, against it)
   */
  public record On(KubernetesSettings settings, Optional<Path> kubeconfig) implements Detection {}

  /**
   * Reads the environment. Scaling is on when {@code LORAFLEET_K8S_STATEFULSET} is set and the
   * process runs in a pod ({@code KUBERNETES_SERVICE_HOST}) or has a {@code KUBECONFIG}.
   *
   * @param env the environment (e.g. {@link System#getenv()}, merged with the config file)
   * @param readFile reads a small file, empty when it is not there (the service account's
   *     namespace)
   * @throws IllegalArgumentException listing every malformed variable
   */
  public static Detection detect(
      Map<String, String> env, Function<Path, Optional<String>> readFile) {
    boolean inPod = present(env, KUBERNETES_SERVICE_HOST);
    Optional<Path> kubeconfig =
        inPod || !present(env, "KUBECONFIG")
            ? Optional.empty()
            : Optional.of(Path.of(env.get("KUBECONFIG").trim()));
    if (!present(env, STATEFULSET)) {
      return new Off(
          inPod
              ? "worker scaling is off: "
                  + STATEFULSET
                  + " is not set (the Helm chart sets it when scaling.enabled=true)"
              : DisabledWorkerScaler.NOT_IN_KUBERNETES);
    }
    if (!inPod && kubeconfig.isEmpty()) {
      return new Off(
          "worker scaling is off: "
              + STATEFULSET
              + " is set, but this is not a Kubernetes pod ("
              + KUBERNETES_SERVICE_HOST
              + " not set) and KUBECONFIG is not set");
    }

    List<String> problems = new ArrayList<>();
    Optional<String> namespace =
        present(env, NAMESPACE)
            ? Optional.of(env.get(NAMESPACE).trim())
            : readFile.apply(SERVICE_ACCOUNT_NAMESPACE).map(String::trim).filter(s -> !s.isEmpty());
    if (namespace.isEmpty()) {
      problems.add(
          NAMESPACE
              + ": not set, and no service-account namespace at "
              + SERVICE_ACCOUNT_NAMESPACE);
    }
    ScalingPolicy defaults = ScalingPolicy.DEFAULT;
    int min = integer(env, MIN_WORKERS, defaults.minWorkers(), problems);
    int max = integer(env, MAX_WORKERS, defaults.maxWorkers(), problems);
    boolean toZero = bool(env, SCALE_TO_ZERO, defaults.scaleToZero(), problems);
    Duration grace = duration(env, IDLE_GRACE, defaults.idleGrace(), problems);
    int concurrent = integer(env, MAX_CONCURRENT_JOBS, defaults.maxConcurrentJobs(), problems);
    KubernetesSettings base = of("-", "-");
    Duration ready = duration(env, READY_TIMEOUT, base.readyTimeout(), problems);
    Duration request = duration(env, REQUEST_TIMEOUT, base.requestTimeout(), problems);

    ScalingPolicy policy = null;
    if (problems.isEmpty()) {
      try {
        policy = new ScalingPolicy(min, max, toZero, grace, concurrent);
      } catch (IllegalArgumentException e) {
        problems.add(
            MIN_WORKERS + "/" + MAX_WORKERS + "/" + MAX_CONCURRENT_JOBS + ": " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "worker scaling settings are wrong: " + String.join("; ", problems));
    }
    return new On(
        new KubernetesSettings(
            namespace.orElseThrow(),
            env.get(STATEFULSET).trim(),
            policy,
            ready,
            request,
            base.backoff(),
            base.watchTimeout()),
        kubeconfig);
  }

  private static boolean present(Map<String, String> env, String key) {
    String value = env.get(key);
    return value != null && !value.isBlank();
  }

  private static int integer(
      Map<String, String> env, String key, int fallback, List<String> problems) {
    if (!present(env, key)) {
      return fallback;
    }
    try {
      return Integer.parseInt(env.get(key).trim());
    } catch (NumberFormatException e) {
      problems.add(key + ": '" + env.get(key) + "' is not a whole number");
      return fallback;
    }
  }

  private static boolean bool(
      Map<String, String> env, String key, boolean fallback, List<String> problems) {
    if (!present(env, key)) {
      return fallback;
    }
    String value = env.get(key).trim();
    if (value.equalsIgnoreCase("true")) {
      return true;
    }
    if (value.equalsIgnoreCase("false")) {
      return false;
    }
    problems.add(key + ": '" + value + "' is not true or false");
    return fallback;
  }

  private static Duration duration(
      Map<String, String> env, String key, Duration fallback, List<String> problems) {
    if (!present(env, key)) {
      return fallback;
    }
    try {
      return Durations.parse(env.get(key));
    } catch (IllegalArgumentException e) {
      problems.add(key + ": " + e.getMessage());
      return fallback;
    }
  }
}
