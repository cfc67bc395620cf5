package dev.lorafleet.coordinator.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Picks the scaler for this process: the Kubernetes one in a pod the chart set up, else off. */
public final class WorkerScalers {

  private WorkerScalers() {}

  /**
   * The scaler this environment calls for (see {@link KubernetesSettings#detect}).
   *
   * @throws IllegalArgumentException when scaling is on but a setting is malformed
   * @throws UncheckedIOException when the service account's credentials cannot be read
   */
  public static WorkerScaler fromEnvironment(Map<String, String> env) {
    KubernetesSettings.Detection detection = KubernetesSettings.detect(env, WorkerScalers::read);
    if (detection instanceof KubernetesSettings.Off off) {
      return new DisabledWorkerScaler(off.reason());
    }
    KubernetesSettings.On on = (KubernetesSettings.On) detection;
    try {
      return KubernetesWorkerScaler.connect(on);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot set up the Kubernetes client for worker scaling"
              + on.kubeconfig()
                  .map(p -> " from kubeconfig " + p)
                  .orElse(" from the service account")
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private static Optional<String> read(Path file) {
    try {
      return Files.isReadable(file)
          ? Optional.of(Files.readString(file, StandardCharsets.UTF_8))
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
