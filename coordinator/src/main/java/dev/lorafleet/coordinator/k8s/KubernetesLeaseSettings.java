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
 * The coordinator's Kubernetes Lease (coordination.k8s.io/v1), read from the environment the Helm
 * chart gives the coordinator.
 *
 * @param namespace the Lease's namespace (the release's)
 * @param name the Lease's name
 * @param identity this coordinator's name in the Lease's holderIdentity (its pod name)
 * @param leaseDuration how long the Lease stays held without a renewal: a successor takes it over
 *     once it has seen it unchanged for this long
 * @param renewDeadline how long this coordinator goes on without a successful renewal before it
 *     stops acting (shorter than leaseDuration, so it has stopped before anyone may take over)
 * @param retryPeriod how often it renews, and how often a waiting coordinator looks again
 * @param requestTimeout how long one API request may take
 */
public record KubernetesLeaseSettings(
    String namespace,
    String name,
    String identity,
    Duration leaseDuration,
    Duration renewDeadline,
    Duration retryPeriod,
    Duration requestTimeout) {

  public static final String LEASE = "LORAFLEET_K8S_LEASE";
  public static final String LEASE_HOLDER = "LORAFLEET_K8S_LEASE_HOLDER";
  public static final String LEASE_DURATION = "LORAFLEET_K8S_LEASE_DURATION";
  public static final Duration DEFAULT_DURATION = Duration.ofSeconds(15);

  public KubernetesLeaseSettings {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(identity, "identity");
    if (leaseDuration.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException(
          "the lease duration must be at least 1s, got " + Durations.format(leaseDuration));
    }
    if (renewDeadline.compareTo(leaseDuration) >= 0 || retryPeriod.compareTo(renewDeadline) >= 0) {
      throw new IllegalArgumentException(
          "need retryPeriod < renewDeadline < leaseDuration, got "
              + Durations.format(retryPeriod)
              + ", "
              + Durations.format(renewDeadline)
              + ", "
              + Durations.format(leaseDuration));
    }
  }

  /**
   * Settings with the usual proportions: renewal deadline two thirds of the duration, a renewal
   * every fifth of it (15 s: 10 s and 3 s, as Kubernetes' own controllers do).
   */
  public static KubernetesLeaseSettings of(
      String namespace, String name, String identity, Duration leaseDuration) {
    return new KubernetesLeaseSettings(
        namespace,
        name,
        identity,
        leaseDuration,
        leaseDuration.multipliedBy(2).dividedBy(3),
        leaseDuration.dividedBy(5),
        Duration.ofSeconds(10));
  }

  /** Where the Lease is and which credentials reach it. */
  public record On(KubernetesLeaseSettings settings, Optional<Path> kubeconfig) {}

  /**
   * Reads the environment: the Lease is used when {@code LORAFLEET_K8S_LEASE} is set and the
   * process runs in a pod ({@code KUBERNETES_SERVICE_HOST}) or has a {@code KUBECONFIG}.
   *
   * @throws IllegalArgumentException listing every malformed or missing setting
   */
  public static Optional<On> detect(
      Map<String, String> env, Function<Path, Optional<String>> readFile) {
    if (!present(env, LEASE)) {
      return Optional.empty();
    }
    boolean inPod = present(env, KubernetesSettings.KUBERNETES_SERVICE_HOST);
    List<String> problems = new ArrayList<>();
    if (!inPod && !present(env, "KUBECONFIG")) {
      problems.add(
          LEASE
              + " is set, but this is not a Kubernetes pod ("
              + KubernetesSettings.KUBERNETES_SERVICE_HOST
              + " not set) and KUBECONFIG is not set");
    }
    Optional<String> namespace =
        present(env, KubernetesSettings.NAMESPACE)
            ? Optional.of(env.get(KubernetesSettings.NAMESPACE).trim())
            : readFile
                .apply(KubernetesSettings.SERVICE_ACCOUNT_NAMESPACE)
                .map(String::trim)
                .filter(s -> !s.isEmpty());
    if (namespace.isEmpty()) {
      problems.add(
          KubernetesSettings.NAMESPACE
              + ": not set, and no service-account namespace at "
              + KubernetesSettings.SERVICE_ACCOUNT_NAMESPACE);
    }
    String identity =
        present(env, LEASE_HOLDER)
            ? env.get(LEASE_HOLDER).trim()
            : present(env, "HOSTNAME")
                ? env.get("HOSTNAME").trim()
                : "coordinator-" + ProcessHandle.current().pid();
    Duration duration = DEFAULT_DURATION;
    if (present(env, LEASE_DURATION)) {
      try {
        duration = Durations.parse(env.get(LEASE_DURATION));
      } catch (IllegalArgumentException e) {
        problems.add(LEASE_DURATION + ": " + e.getMessage());
      }
    }
    KubernetesLeaseSettings settings = null;
    if (problems.isEmpty()) {
      try {
        settings = of(namespace.orElseThrow(), env.get(LEASE).trim(), identity, duration);
      } catch (IllegalArgumentException e) {
        problems.add(LEASE_DURATION + ": " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "the coordinator's Kubernetes Lease settings are wrong: " + String.join("; ", problems));
    }
    Optional<Path> kubeconfig =
        inPod ? Optional.empty() : Optional.of(Path.of(env.get("KUBECONFIG").trim()));
    return Optional.of(new On(settings, kubeconfig));
  }

  private static boolean present(Map<String, String> env, String key) {
    String value = env.get(key);
    return value != null && !value.isBlank();
  }
}
