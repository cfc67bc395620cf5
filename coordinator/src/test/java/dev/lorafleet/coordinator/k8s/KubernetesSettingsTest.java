package dev.lorafleet.coordinator.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Whether scaling is on, read from the environment the chart gives the coordinator. */
class KubernetesSettingsTest {
  private static final Function<Path, Optional<String>> NO_FILES = path -> Optional.empty();

  @Test
  void outsideKubernetesScalingIsOffAndSaysSo() {
    KubernetesSettings.Detection detection = KubernetesSettings.detect(Map.of(), NO_FILES);
    assertThat(detection)
        .isEqualTo(
            new KubernetesSettings.Off(
                "worker scaling is off: not running in Kubernetes (LORAFLEET_K8S_STATEFULSET not set)"));

    WorkerScaler scaler = WorkerScalers.fromEnvironment(Map.of());
    assertThat(scaler.enabled()).isFalse();
    assertThat(scaler.scale(3))
        .isEqualTo(
            new ScalerFailure(
                ScalerFailure.Reason.DISABLED, DisabledWorkerScaler.NOT_IN_KUBERNETES));
    assertThat(scaler.status().scalingEnabled()).isFalse();
    assertThat(scaler.status().message()).isEqualTo(DisabledWorkerScaler.NOT_IN_KUBERNETES);
  }

  @Test
  void inAPodWithoutTheStatefulSetNameScalingIsOff() {
    KubernetesSettings.Off off =
        (KubernetesSettings.Off)
            KubernetesSettings.detect(Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1"), NO_FILES);
    assertThat(off.reason()).contains("LORAFLEET_K8S_STATEFULSET is not set");
  }

  @Test
  void statefulSetNameOutsideAPodWithoutKubeconfigIsOff() {
    KubernetesSettings.Off off =
        (KubernetesSettings.Off)
            KubernetesSettings.detect(Map.of("LORAFLEET_K8S_STATEFULSET", "w"), NO_FILES);
    assertThat(off.reason()).contains("KUBERNETES_SERVICE_HOST not set").contains("KUBECONFIG");
  }

  @Test
  void inAPodTheChartsVariablesTurnItOn() {
    Map<String, String> env =
        Map.of(
            "KUBERNETES_SERVICE_HOST", "10.0.0.1",
            "LORAFLEET_K8S_STATEFULSET", "ft-lorafleet-worker",
            "LORAFLEET_K8S_NAMESPACE", "training",
            "LORAFLEET_K8S_MAX_WORKERS", "8",
            "LORAFLEET_K8S_SCALE_TO_ZERO", "false",
            "LORAFLEET_K8S_IDLE_GRACE", "1h30m",
            "LORAFLEET_K8S_READY_TIMEOUT", "PT15M",
            "LORAFLEET_K8S_MAX_CONCURRENT_JOBS", "2");
    KubernetesSettings.On on = (KubernetesSettings.On) KubernetesSettings.detect(env, NO_FILES);
    KubernetesSettings settings = on.settings();
    assertThat(on.kubeconfig()).isEmpty();
    assertThat(settings.namespace()).isEqualTo("training");
    assertThat(settings.statefulSet()).isEqualTo("ft-lorafleet-worker");
    assertThat(settings.policy())
        .isEqualTo(new ScalingPolicy(0, 8, false, Duration.ofMinutes(90), 2));
    assertThat(settings.readyTimeout()).isEqualTo(Duration.ofMinutes(15));
  }

  @Test
  void namespaceFallsBackToTheServiceAccountsOwn() {
    Map<String, String> env =
        Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1", "LORAFLEET_K8S_STATEFULSET", "w");
    KubernetesSettings.On on =
        (KubernetesSettings.On)
            KubernetesSettings.detect(
                env,
                path ->
                    path.equals(KubernetesSettings.SERVICE_ACCOUNT_NAMESPACE)
                        ? Optional.of("team-a\n")
                        : Optional.empty());
    assertThat(on.settings().namespace()).isEqualTo("team-a");
  }

  @Test
  void everyMalformedVariableIsListed() {
    Map<String, String> env =
        Map.of(
            "KUBERNETES_SERVICE_HOST", "10.0.0.1",
            "LORAFLEET_K8S_STATEFULSET", "w",
            "LORAFLEET_K8S_NAMESPACE", "ns",
            "LORAFLEET_K8S_MAX_WORKERS", "eight",
            "LORAFLEET_K8S_SCALE_TO_ZERO", "yes",
            "LORAFLEET_K8S_IDLE_GRACE", "ten minutes");
    assertThatThrownBy(() -> KubernetesSettings.detect(env, NO_FILES))
        .hasMessageContaining("LORAFLEET_K8S_MAX_WORKERS: 'eight' is not a whole number")
        .hasMessageContaining("LORAFLEET_K8S_SCALE_TO_ZERO: 'yes' is not true or false")
        .hasMessageContaining("LORAFLEET_K8S_IDLE_GRACE: 'ten minutes' is not a duration");
  }

  @Test
  void durationsReadAsPeopleWriteThem() {
    assertThat(Durations.parse("90s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(Durations.parse("PT10M")).isEqualTo(Duration.ofMinutes(10));
    assertThatThrownBy(() -> Durations.parse("10")).hasMessageContaining("not a duration");
    assertThatThrownBy(() -> Durations.parse("m10")).hasMessageContaining("not a duration");
    assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(Durations.format(Duration.ofMillis(300))).isEqualTo("300ms");
  }

  @Test
  void backoffDoublesUpToItsCap() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofMillis(500), 10);
    assertThat(java.util.stream.IntStream.rangeClosed(1, 5).mapToObj(backoff::delayAfter).toList())
        .containsExactly(
            Duration.ofMillis(100),
            Duration.ofMillis(200),
            Duration.ofMillis(400),
            Duration.ofMillis(500),
            Duration.ofMillis(500));
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 3))
        .hasMessageContaining("initial <= max");
  }
}
