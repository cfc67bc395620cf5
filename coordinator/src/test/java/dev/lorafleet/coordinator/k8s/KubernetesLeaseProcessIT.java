package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.LEASE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.NAMESPACE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.leaseHeldBy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.cluster.CoordinatorProcess;
import dev.lorafleet.coordinator.cluster.LocalWorkers;
import io.kubernetes.client.openapi.models.V1Lease;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code coordinator} command in a real process with the chart's Lease settings, against the
 * fake API server (through a kubeconfig): refused while another coordinator holds the Lease, takes
 * it over with {@code --lease-wait} once it ran out, lets go of it when stopped.
 */
class KubernetesLeaseProcessIT {
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private Process coordinator(FakeKubernetesApi api, String name, String... extra)
      throws IOException {
    Path kubeconfig = dir.resolve("kubeconfig");
    Files.writeString(
        kubeconfig,
        "apiVersion: v1\n"
            + "kind: Config\n"
            + "clusters:\n"
            + "- name: fake\n"
            + "  cluster: {server: \""
            + api.url()
            + "\"}\n"
            + "users:\n"
            + "- name: coordinator\n"
            + "  user: {token: not-a-secret}\n"
            + "contexts:\n"
            + "- name: fake\n"
            + "  context: {cluster: fake, user: coordinator, namespace: "
            + NAMESPACE
            + "}\n"
            + "current-context: fake\n");
    ProcessBuilder builder =
        CoordinatorProcess.builder(dir, dir.resolve("data"), LocalWorkers.freePort(), name, extra);
    Map<String, String> env = builder.environment();
    env.remove(KubernetesSettings.KUBERNETES_SERVICE_HOST); // a CI pod must not use its own API
    env.remove(KubernetesSettings.STATEFULSET);
    env.remove("LORAFLEET_LEASE_WAIT");
    env.put("KUBECONFIG", kubeconfig.toString());
    env.put(KubernetesSettings.NAMESPACE, NAMESPACE);
    env.put(KubernetesLeaseSettings.LEASE, LEASE);
    env.put(KubernetesLeaseSettings.LEASE_HOLDER, "ft-lorafleet-coordinator-new");
    env.put(KubernetesLeaseSettings.LEASE_DURATION, "3s");
    return builder.start();
  }

  private String log(String name) throws IOException {
    return Files.readString(dir.resolve(name + ".log"));
  }

  @Test
  void coordinatorProcessHonoursTheKubernetesLease() throws Exception {
    try (FakeKubernetesApi api = new FakeKubernetesApi()) {
      api.servesLeases();
      api.leaseIs(leaseHeldBy("ft-lorafleet-coordinator-old", Instant.now(), 3));

      // held by the old pod: refused at once, the holder named, the data dir never touched
      Process refused = coordinator(api, "refused");
      assertThat(refused.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(refused.exitValue()).isEqualTo(3);
      assertThat(log("refused"))
          .contains("lorafleet coordinator: the Kubernetes Lease " + NAMESPACE + "/" + LEASE)
          .contains("held by coordinator ft-lorafleet-coordinator-old");
      assertThat(dir.resolve("data/coordinator.lease")).doesNotExist();

      // the old pod never renews: with --lease-wait the new one takes over after 3 s
      Process taking = coordinator(api, "taking", "--lease-wait", "1m");
      try {
        Awaitility.await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> Files.isRegularFile(dir.resolve("data/coordinator.lease")));
        V1Lease held = api.lease(LEASE);
        assertThat(held.getSpec().getHolderIdentity()).isEqualTo("ft-lorafleet-coordinator-new");
        assertThat(held.getSpec().getLeaseTransitions()).isEqualTo(2);
        assertThat(log("taking"))
            .contains("Took over the Kubernetes Lease " + NAMESPACE + "/" + LEASE)
            .contains("ft-lorafleet-coordinator-old");
        assertThat(Files.readString(dir.resolve("data/coordinator.lease"))).contains("\"token\":1");
        // it renews (3 s / 5 = every 600 ms)
        String renewed = held.getSpec().getRenewTime().toString();
        Awaitility.await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> !api.lease(LEASE).getSpec().getRenewTime().toString().equals(renewed));
      } finally {
        taking.destroy(); // SIGTERM: a clean stop lets go of the Lease
        assertThat(taking.waitFor(60, TimeUnit.SECONDS)).isTrue();
      }
      assertThat(api.lease(LEASE).getSpec().getHolderIdentity()).isNull();
    }
  }
}
