package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.NAMESPACE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.PODS_PATH;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.SCALE_PATH;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.SELECTOR;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.STATEFULSET;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.readyPod;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.scale;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.unschedulablePod;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorafleet.coordinator.k8s.FakeKubernetesApi.Request;
import dev.lorafleet.coordinator.k8s.FakeKubernetesApi.WatchEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The scaler against a fake Kubernetes API: the exact requests, and every refusal. */
class KubernetesWorkerScalerTest {
  private static FakeKubernetesApi api;
  private final List<Duration> pauses = new ArrayList<>();
  private final TickingClock clock = new TickingClock(Duration.ofSeconds(10));

  @BeforeAll
  static void startFakeApi() {
    api = new FakeKubernetesApi();
  }

  @BeforeEach
  void resetFakeApi() {
    api.reset();
  }

  @AfterAll
  static void stopFakeApi() {
    api.close();
  }

  private KubernetesWorkerScaler scaler() {
    return scaler(Duration.ofSeconds(5), Backoff.DEFAULT);
  }

  private KubernetesWorkerScaler scaler(Duration requestTimeout, Backoff backoff) {
    KubernetesSettings defaults = KubernetesSettings.of(NAMESPACE, STATEFULSET);
    KubernetesSettings settings =
        new KubernetesSettings(
            NAMESPACE,
            STATEFULSET,
            defaults.policy(),
            defaults.readyTimeout(),
            requestTimeout,
            backoff,
            defaults.watchTimeout());
    return new KubernetesWorkerScaler(
        api.client(requestTimeout),
        api.client(Duration.ofSeconds(10)),
        settings,
        clock,
        pauses::add);
  }

  @Test
  void scalesThroughTheScaleSubresourceWithAMergePatchOnTheVersionItRead() throws Exception {
    api.scaleIs(1, "41");
    api.patchAccepted("41", 4, "42");

    ScaleResult result = scaler().scale(4);

    assertThat(result).isEqualTo(new ScaleResult.Scaled(1, 4, 1));
    List<Request> requests = api.requests();
    assertThat(requests)
        .extracting(Request::method, Request::path)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("GET", SCALE_PATH),
            org.assertj.core.groups.Tuple.tuple("PATCH", SCALE_PATH));
    Request patch = requests.get(1);
    assertThat(patch.query()).isEqualTo(Map.of("fieldManager", "lorafleet-coordinator"));
    assertThat(patch.contentType()).startsWith("application/merge-patch+json");
    ObjectMapper json = new ObjectMapper();
    assertThat(json.readTree(patch.body()))
        .isEqualTo(
            json.readTree("{\"metadata\":{\"resourceVersion\":\"41\"},\"spec\":{\"replicas\":4}}"));
    assertThat(result.message()).isEqualTo("worker pool scaled from 1 to 4 nodes");
  }

  @Test
  void leavesThePoolAloneWhenItAlreadyHasThatMany() {
    api.scaleIs(3, "7");

    assertThat(scaler().scale(3)).isEqualTo(new ScaleResult.Unchanged(3));
    assertThat(api.requests()).extracting(Request::method).containsExactly("GET");
  }

  @Test
  void rereadsAndRetriesWhenSomeoneElseChangedTheCount() {
    // read at version 41; someone scales to 2 (version 42) before the patch lands
    api.scaleIsThenChangesTo(scale(1, 1, "41"), scale(2, 2, "42"));
    api.patchConflicts("41", 4);
    api.patchAccepted("42", 4, "43");

    ScaleResult result = scaler().scale(4);

    assertThat(result).isEqualTo(new ScaleResult.Scaled(2, 4, 2));
    assertThat(api.requests())
        .extracting(r -> r.method() + " " + r.path() + " " + (r.body().isEmpty() ? "" : r.body()))
        .containsExactly(
            "GET " + SCALE_PATH + " ",
            "PATCH "
                + SCALE_PATH
                + " {\"metadata\":{\"resourceVersion\":\"41\"},\"spec\":{\"replicas\":4}}",
            "GET " + SCALE_PATH + " ",
            "PATCH "
                + SCALE_PATH
                + " {\"metadata\":{\"resourceVersion\":\"42\"},\"spec\":{\"replicas\":4}}");
    assertThat(pauses).containsExactly(Duration.ofMillis(500));
  }

  @Test
  void forbiddenNamesTheVerbAndResourceTheRoleLacks() {
    api.scaleIs(1, "41");
    api.refuses(
        "PATCH",
        SCALE_PATH,
        403,
        "Forbidden",
        FakeKubernetesApi.forbiddenMessage("patch", "statefulsets/scale", "apps"));

    ScaleResult result = scaler().scale(4);

    assertThat(result).isInstanceOf(ScalerFailure.class);
    ScalerFailure failure = (ScalerFailure) result;
    assertThat(failure.reason()).isEqualTo(ScalerFailure.Reason.FORBIDDEN);
    assertThat(failure.message())
        .startsWith(
            "the coordinator's service account may not patch statefulsets/scale \""
                + STATEFULSET
                + "\" in namespace \"training\" (HTTP 403 Forbidden)")
        .contains("verb \"patch\" on resource \"statefulsets/scale\" in API group \"apps\"")
        .contains("resourceNames [\"" + STATEFULSET + "\"]")
        .contains("rbac.create=true")
        .contains("Kubernetes said: statefulsets.apps");
    // a permission error is not retried
    assertThat(api.requests()).hasSize(2);
    assertThat(pauses).isEmpty();
  }

  @Test
  void missingStatefulSetIsNamedWithItsNamespace() {
    api.refuses(
        "GET", SCALE_PATH, 404, "NotFound", "statefulsets.apps \"" + STATEFULSET + "\" not found");

    ScalerFailure failure = (ScalerFailure) scaler().scale(2);

    assertThat(failure.reason()).isEqualTo(ScalerFailure.Reason.NOT_FOUND);
    assertThat(failure.message())
        .startsWith(
            "StatefulSet \"" + STATEFULSET + "\" not found in namespace \"training\" (HTTP 404)")
        .contains("LORAFLEET_K8S_STATEFULSET")
        .contains("LORAFLEET_K8S_NAMESPACE");
    assertThat(api.requests()).hasSize(1);
  }

  @Test
  void retriesAnAnswerThatTimesOut() {
    api.scaleAnswersSlowlyOnceThen(Duration.ofSeconds(2), 2, "9");
    api.patchAccepted("9", 3, "10");

    ScaleResult result = scaler(Duration.ofMillis(300), Backoff.DEFAULT).scale(3);

    assertThat(result).isEqualTo(new ScaleResult.Scaled(2, 3, 2));
    assertThat(pauses).containsExactly(Duration.ofMillis(500));
  }

  @Test
  void givesUpAfterBoundedExponentialBackoffWhenTheServerKeepsFailing() {
    api.refuses("GET", SCALE_PATH, 503, "ServiceUnavailable", "etcdserver: request timed out");

    ScalerFailure failure = (ScalerFailure) scaler().scale(5);

    assertThat(failure.reason()).isEqualTo(ScalerFailure.Reason.UNAVAILABLE);
    assertThat(failure.message())
        .startsWith("gave up scaling workers to 5 after 6 attempts: ")
        .contains("HTTP 503")
        .contains("etcdserver: request timed out");
    assertThat(api.requests()).hasSize(6);
    // doubling from 0.5 s, capped at 10 s, no pause after the last attempt
    assertThat(pauses)
        .containsExactly(
            Duration.ofMillis(500),
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4),
            Duration.ofSeconds(8));
  }

  @Test
  void refusesANegativeCountWithoutCallingTheApi() {
    ScalerFailure failure = (ScalerFailure) scaler().scale(-1);
    assertThat(failure.reason()).isEqualTo(ScalerFailure.Reason.INVALID);
    assertThat(api.requests()).isEmpty();
  }

  @Test
  void waitsOnAWatchUntilTheNewPodsAreReady() {
    api.scaleIs(2, "50");
    api.podsAre("200", readyPod(0), unschedulablePod(1));
    api.watchStreams(
        new WatchEvent("MODIFIED", unschedulablePod(1)), new WatchEvent("MODIFIED", readyPod(1)));

    ReadinessResult result = scaler().awaitReady(2, Duration.ofMinutes(5));

    assertThat(result).isEqualTo(new ReadinessResult.AllReady(2));
    List<Request> requests = api.requests();
    assertThat(requests)
        .extracting(Request::method, Request::path)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("GET", SCALE_PATH),
            org.assertj.core.groups.Tuple.tuple("GET", PODS_PATH),
            org.assertj.core.groups.Tuple.tuple("GET", PODS_PATH));
    assertThat(requests.get(1).query()).isEqualTo(Map.of("labelSelector", SELECTOR));
    // the watch starts where the list left off, within the bound
    assertThat(requests.get(2).query())
        .containsEntry("labelSelector", SELECTOR)
        .containsEntry("watch", "true")
        .containsEntry("resourceVersion", "200")
        .containsEntry("allowWatchBookmarks", "true")
        .containsKey("timeoutSeconds");
    assertThat(Integer.parseInt(requests.get(2).query().get("timeoutSeconds"))).isBetween(1, 300);
  }

  @Test
  void reportsAPodThatNeverBecomesReadyWithWhatTheSchedulerSays() {
    api.scaleIs(2, "50");
    api.podsAre("200", readyPod(0), unschedulablePod(1));
    api.watchStreams(new WatchEvent("MODIFIED", unschedulablePod(1)));
    api.podIs(unschedulablePod(1));

    ReadinessResult result = scaler().awaitReady(2, Duration.ofMinutes(2));

    assertThat(result).isInstanceOf(ReadinessResult.NotReady.class);
    ReadinessResult.NotReady notReady = (ReadinessResult.NotReady) result;
    assertThat(notReady.ready()).isEqualTo(1);
    assertThat(notReady.wanted()).isEqualTo(2);
    assertThat(notReady.notReady())
        .singleElement()
        .satisfies(
            pod -> {
              assertThat(pod.name()).isEqualTo(STATEFULSET + "-1");
              assertThat(pod.phase()).isEqualTo("Pending");
              assertThat(pod.reason())
                  .startsWith(
                      "not scheduled: Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu");
            });
    assertThat(notReady.message())
        .startsWith(
            "1 of 2 worker pods ready after 2m; " + STATEFULSET + "-1 is not: not scheduled");
    // watched until the bound ran out (a few rounds of the ticking clock), then the pod re-read
    List<Request> requests = api.requests();
    assertThat(requests)
        .filteredOn(r -> "true".equals(r.query().get("watch")))
        .hasSizeBetween(1, 6);
    assertThat(requests.get(requests.size() - 1).path())
        .isEqualTo(PODS_PATH + "/" + STATEFULSET + "-1");
  }

  @Test
  void aPodThatDoesNotExistYetIsReportedAsMissing() {
    api.scaleIs(2, "50");
    api.podsAre("200", readyPod(0));
    api.watchStreams();
    api.refuses(
        "GET", PODS_PATH + "/" + STATEFULSET + "-1", 404, "NotFound", "pods \"x\" not found");

    ReadinessResult.NotReady notReady =
        (ReadinessResult.NotReady) scaler().awaitReady(2, Duration.ofSeconds(30));

    assertThat(notReady.notReady())
        .singleElement()
        .satisfies(
            pod -> {
              assertThat(pod.phase()).isEqualTo("Missing");
              assertThat(pod.reason()).contains("does not exist yet");
            });
  }

  @Test
  void forbiddenWatchIsReportedNotRetried() {
    api.scaleIs(1, "50");
    api.podsAre("200", unschedulablePod(0));
    api.refusesWatch(403, "Forbidden", "pods is forbidden");

    ReadinessResult result = scaler().awaitReady(1, Duration.ofMinutes(1));

    assertThat(result).isInstanceOf(ScalerFailure.class);
    assertThat(((ScalerFailure) result).message())
        .startsWith(
            "the coordinator's service account may not watch pods in namespace \"training\"")
        .contains("verb \"watch\" on resource \"pods\" in API group \"\"");
  }

  @Test
  void statusListsPodsByOrdinalWithTheirState() {
    api.scaleIs(3, "50");
    api.podsAre("200", readyPod(2), unschedulablePod(1), readyPod(0));

    WorkerPoolStatus status = scaler().status();

    assertThat(status.scalingEnabled()).isTrue();
    assertThat(status.replicas()).isEqualTo(3);
    assertThat(status.readyReplicas()).isEqualTo(2);
    assertThat(status.message()).isEqualTo("2 of 3 worker pods ready");
    assertThat(status.pods())
        .extracting(WorkerPod::name, WorkerPod::ready, WorkerPod::node)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(STATEFULSET + "-0", true, "node-0"),
            org.assertj.core.groups.Tuple.tuple(STATEFULSET + "-1", false, null),
            org.assertj.core.groups.Tuple.tuple(STATEFULSET + "-2", true, "node-2"));
  }

  @Test
  void statusSaysWhyTheApiCouldNotBeRead() {
    api.refuses("GET", SCALE_PATH, 403, "Forbidden", "forbidden");

    WorkerPoolStatus status = scaler().status();

    assertThat(status.scalingEnabled()).isTrue();
    assertThat(status.replicas()).isNull();
    assertThat(status.message()).contains("may not get statefulsets/scale");
    assertThat(pauses).isEmpty();
  }

  /**
   * A clock that moves on by a fixed step each time it is read: deadlines pass without sleeping.
   */
  static final class TickingClock extends Clock {
    static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private final Duration step;
    private Instant now = START;

    TickingClock(Duration step) {
      this.step = step;
    }

    @Override
    public synchronized Instant instant() {
      Instant current = now;
      now = now.plus(step);
      return current;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
