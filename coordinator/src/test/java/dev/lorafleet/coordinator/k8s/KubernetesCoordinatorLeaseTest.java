package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.LEASE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.LEASES_PATH;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.LEASE_PATH;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.NAMESPACE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.leaseHeldBy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.coordinator.k8s.FakeKubernetesApi.Request;
import dev.lorafleet.coordinator.lease.LeaseHeldException;
import dev.lorafleet.coordinator.lease.LeaseKeeper;
import dev.lorafleet.coordinator.lease.LeaseLostException;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The coordinator's Kubernetes Lease against the fake API server's Lease store. */
class KubernetesCoordinatorLeaseTest {
  private static FakeKubernetesApi api;
  private final ManualClock clock = new ManualClock();
  private final List<Duration> pauses = new ArrayList<>();

  @BeforeAll
  static void startFakeApi() {
    api = new FakeKubernetesApi();
  }

  @BeforeEach
  void resetFakeApi() {
    api.reset();
    api.servesLeases();
  }

  @AfterAll
  static void stopFakeApi() {
    api.close();
  }

  /** A clock that moves only when told (each pause moves it by the pause). */
  static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2026-03-01T10:00:00Z");

    synchronized void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public synchronized Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  private static KubernetesLeaseSettings settings(String identity) {
    return KubernetesLeaseSettings.of(NAMESPACE, LEASE, identity, Duration.ofSeconds(15));
  }

  private KubernetesCoordinatorLease take(String identity, Duration wait) throws Exception {
    return KubernetesCoordinatorLease.acquire(
        api.client(Duration.ofSeconds(5)),
        settings(identity),
        wait,
        clock,
        d -> {
          pauses.add(d);
          clock.advance(d);
        });
  }

  private static String holder(V1Lease lease) {
    return lease.getSpec().getHolderIdentity();
  }

  private List<String> calls() {
    return api.requests().stream().map(r -> r.method() + " " + r.path()).toList();
  }

  @Test
  void createsTheLeaseWhenThereIsNone() throws Exception {
    KubernetesCoordinatorLease lease = take("coordinator-a", Duration.ZERO);

    V1Lease stored = api.lease(LEASE);
    assertThat(holder(stored)).isEqualTo("coordinator-a");
    assertThat(stored.getSpec().getLeaseDurationSeconds()).isEqualTo(15);
    assertThat(stored.getSpec().getLeaseTransitions()).isZero();
    assertThat(stored.getSpec().getRenewTime().toInstant()).isEqualTo(clock.instant());
    assertThat(calls()).containsExactly("GET " + LEASE_PATH, "POST " + LEASES_PATH);
    assertThat(lease.describe()).contains(NAMESPACE + "/" + LEASE).contains("coordinator-a");
  }

  @Test
  void takesALeaseNobodyHoldsWithTheVersionItRead() throws Exception {
    String version =
        api.leaseIs(leaseHeldBy(null, clock.instant(), 15)).getMetadata().getResourceVersion();

    take("coordinator-a", Duration.ZERO);

    List<Request> requests = api.requests();
    assertThat(requests).extracting(Request::method).containsExactly("GET", "PUT");
    assertThat(requests.get(1).body()).contains("\"resourceVersion\":\"" + version + "\"");
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-a");
    assertThat(api.lease(LEASE).getSpec().getLeaseTransitions()).isEqualTo(1);
  }

  @Test
  void refusesAtOnceWhileAnotherHoldsItAndNamesTheHolder() {
    api.leaseIs(leaseHeldBy("coordinator-old", clock.instant(), 15));

    assertThatThrownBy(() -> take("coordinator-a", Duration.ZERO))
        .isInstanceOf(LeaseHeldException.class)
        .hasMessageContaining("the Kubernetes Lease " + NAMESPACE + "/" + LEASE)
        .hasMessageContaining("held by coordinator coordinator-old")
        .hasMessageContaining("--lease-wait");
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-old");
    assertThat(calls()).containsExactly("GET " + LEASE_PATH);
  }

  @Test
  void takesOverOnlyOnceItSawTheLeaseUnrenewedForItsWholeDuration() throws Exception {
    // the holder's renewTime is long past, but another node's clock is not trusted: wait 15 s
    Instant start = clock.instant();
    api.leaseIs(leaseHeldBy("coordinator-old", start.minus(Duration.ofHours(1)), 15));

    take("coordinator-a", Duration.ofMinutes(1));

    V1Lease stored = api.lease(LEASE);
    assertThat(holder(stored)).isEqualTo("coordinator-a");
    assertThat(stored.getSpec().getLeaseTransitions()).isEqualTo(2);
    assertThat(stored.getSpec().getAcquireTime().toInstant())
        .isAfterOrEqualTo(start.plusSeconds(15));
    assertThat(pauses).isNotEmpty().allSatisfy(p -> assertThat(p).isEqualTo(Duration.ofSeconds(3)));
    assertThat(Duration.between(start, clock.instant())).isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void aHolderThatKeepsRenewingIsNeverTakenOver() {
    api.leaseIs(leaseHeldBy("coordinator-old", clock.instant(), 15));
    // every pause, the holder renews (a new resourceVersion): the wait starts over each time
    KubernetesLeaseSettings settings = settings("coordinator-a");
    assertThatThrownBy(
            () ->
                KubernetesCoordinatorLease.acquire(
                    api.client(Duration.ofSeconds(5)),
                    settings,
                    Duration.ofSeconds(40),
                    clock,
                    d -> {
                      clock.advance(d);
                      api.leaseIs(leaseHeldBy("coordinator-old", clock.instant(), 15));
                    }))
        .isInstanceOf(LeaseHeldException.class)
        .hasMessageContaining("still after waiting 40s");
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-old");
  }

  @Test
  void whenTwoTakeOverAtOnceTheLaterWriteConflictsAndLoses() {
    api.leaseIs(leaseHeldBy(null, clock.instant(), 15));
    // between our read and our write, coordinator-b takes the Lease
    api.anotherWriterBeforeNextUpdate(lease -> leaseHeldBy("coordinator-b", clock.instant(), 15));

    assertThatThrownBy(() -> take("coordinator-a", Duration.ZERO))
        .isInstanceOf(LeaseHeldException.class)
        .hasMessageContaining("coordinator-b");
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-b");
    assertThat(calls())
        .containsExactly("GET " + LEASE_PATH, "PUT " + LEASE_PATH, "GET " + LEASE_PATH);
  }

  @Test
  void aConflictThatLeftTheLeaseFreeIsRetriedOnTheNewVersion() throws Exception {
    api.leaseIs(leaseHeldBy(null, clock.instant(), 15));
    api.anotherWriterBeforeNextUpdate(
        lease -> {
          lease.getMetadata().putLabelsItem("team", "ml");
          return lease;
        });

    take("coordinator-a", Duration.ZERO);

    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-a");
    assertThat(api.lease(LEASE).getMetadata().getLabels()).containsEntry("team", "ml");
    assertThat(api.requests())
        .extracting(Request::method)
        .containsExactly("GET", "PUT", "GET", "PUT");
  }

  @Test
  void renewsOnTheVersionItWroteAndLetsGoAtExit() throws Exception {
    KubernetesCoordinatorLease lease = take("coordinator-a", Duration.ZERO);
    clock.advance(Duration.ofSeconds(3));
    lease.renew();
    assertThat(api.lease(LEASE).getSpec().getRenewTime().toInstant()).isEqualTo(clock.instant());
    clock.advance(Duration.ofSeconds(3));
    lease.renew();
    lease.verify();

    lease.close();
    V1LeaseSpec released = api.lease(LEASE).getSpec();
    assertThat(released.getHolderIdentity()).isNull();
    assertThat(released.getLeaseDurationSeconds()).isEqualTo(1);
    // a successor takes it at once, without waiting for it to run out
    pauses.clear();
    take("coordinator-b", Duration.ZERO);
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-b");
    assertThat(pauses).isEmpty();
    assertThatThrownBy(lease::verify).isInstanceOf(LeaseLostException.class);
  }

  @Test
  void renewalThatFindsAnotherHolderIsTheLossOfTheLease() throws Exception {
    KubernetesCoordinatorLease lease = take("coordinator-a", Duration.ZERO);
    LeaseKeeper keeper = new LeaseKeeper(7, List.of(lease));
    List<String> lost = new ArrayList<>();
    keeper.onLost(lost::add);
    api.anotherWriterBeforeNextUpdate(l -> leaseHeldBy("coordinator-b", clock.instant(), 15));

    assertThatThrownBy(lease::renew)
        .isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("taken over by coordinator coordinator-b");
    // closing after the loss leaves the new holder's Lease alone (its write conflicts)
    keeper.close();
    assertThat(holder(api.lease(LEASE))).isEqualTo("coordinator-b");
  }

  @Test
  void noRenewalForTheRenewDeadlineStopsTheCoordinatorBeforeOthersMayTakeOver() throws Exception {
    KubernetesCoordinatorLease lease = take("coordinator-a", Duration.ZERO);
    LeaseKeeper keeper = new LeaseKeeper(7, List.of(lease));
    api.refuses("PUT", LEASE_PATH, 503, "ServiceUnavailable", "etcd is away");

    clock.advance(Duration.ofSeconds(3));
    assertThatThrownBy(lease::renew)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("could not renew")
        .hasMessageContaining("HTTP 503");
    keeper.check(); // 3 s without renewal: still ours

    clock.advance(Duration.ofSeconds(8)); // 11 s > the 10 s renew deadline < 15 s duration
    assertThatThrownBy(keeper::check)
        .hasMessageContaining("was not renewed for 11s")
        .hasMessageContaining("fencing token 7");
    assertThat(keeper.lost()).isPresent();
    keeper.close();
  }

  @Test
  void forbiddenSaysWhichVerbsTheRoleNeeds() {
    api.refuses(
        "GET",
        LEASE_PATH,
        403,
        "Forbidden",
        "leases.coordination.k8s.io \"" + LEASE + "\" is forbidden");

    assertThatThrownBy(() -> take("coordinator-a", Duration.ZERO))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("HTTP 403")
        .hasMessageContaining("\"get\" and \"update\" on resource \"leases\"")
        .hasMessageContaining("coordination.k8s.io")
        .hasMessageContaining("coordinator.lease.kubernetes=true")
        .hasMessageContaining("is forbidden");
  }

  @Test
  void settingsComeFromTheChartsEnvironment() {
    Map<String, String> env =
        Map.of(
            "KUBERNETES_SERVICE_HOST",
            "10.0.0.1",
            KubernetesLeaseSettings.LEASE,
            LEASE,
            KubernetesLeaseSettings.LEASE_HOLDER,
            "ft-lorafleet-coordinator-7c9f-x2",
            KubernetesLeaseSettings.LEASE_DURATION,
            "30s");
    KubernetesLeaseSettings.On on =
        KubernetesLeaseSettings.detect(env, p -> Optional.of(NAMESPACE + "\n")).orElseThrow();
    assertThat(on.kubeconfig()).isEmpty();
    assertThat(on.settings())
        .isEqualTo(
            new KubernetesLeaseSettings(
                NAMESPACE,
                LEASE,
                "ft-lorafleet-coordinator-7c9f-x2",
                Duration.ofSeconds(30),
                Duration.ofSeconds(20),
                Duration.ofSeconds(6),
                Duration.ofSeconds(10)));

    assertThat(KubernetesLeaseSettings.detect(Map.of(), p -> Optional.empty())).isEmpty();
    assertThatThrownBy(
            () ->
                KubernetesLeaseSettings.detect(
                    Map.of(
                        KubernetesLeaseSettings.LEASE,
                        LEASE,
                        KubernetesLeaseSettings.LEASE_DURATION,
                        "soon"),
                    p -> Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a Kubernetes pod")
        .hasMessageContaining("LORAFLEET_K8S_NAMESPACE: not set")
        .hasMessageContaining("LORAFLEET_K8S_LEASE_DURATION: 'soon' is not a duration");
    assertThat(
            KubernetesLeaseSettings.detect(
                    Map.of(
                        KubernetesLeaseSettings.LEASE,
                        LEASE,
                        "KUBECONFIG",
                        "/home/me/.kube/config",
                        KubernetesSettings.NAMESPACE,
                        "other"),
                    p -> Optional.empty())
                .orElseThrow()
                .kubeconfig())
        .contains(Path.of("/home/me/.kube/config"));
  }
}
