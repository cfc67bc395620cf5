package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.STATEFULSET;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.readyPod;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.unschedulablePod;
import static org.assertj.core.api.Assertions.assertThat;

import io.kubernetes.client.openapi.models.V1ContainerState;
import io.kubernetes.client.openapi.models.V1ContainerStateTerminated;
import io.kubernetes.client.openapi.models.V1ContainerStateWaiting;
import io.kubernetes.client.openapi.models.V1ContainerStatus;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodCondition;
import java.time.OffsetDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading worker pods: ready or not, and why not. Pure, no server. */
class PodReadinessTest {

  @Test
  void countsOnlyTheWantedOrdinalsAndNamesTheMissingOnes() {
    V1Pod leaving = readyPod(3); // ordinal 3 of a pool scaled down to 2
    PodReadiness.Summary summary =
        PodReadiness.summarize(STATEFULSET, List.of(leaving, readyPod(0)), 2);
    assertThat(summary.ready()).isEqualTo(1);
    assertThat(summary.allReady()).isFalse();
    assertThat(summary.notReady())
        .singleElement()
        .satisfies(
            pod -> {
              assertThat(pod.name()).isEqualTo(STATEFULSET + "-1");
              assertThat(pod.phase()).isEqualTo("Missing");
            });
    assertThat(PodReadiness.summarize(STATEFULSET, List.of(), 0).allReady()).isTrue();
  }

  @Test
  void podOfAnotherStatefulSetWithACommonPrefixIsNotOurs() {
    V1Pod other = readyPod(0);
    other.getMetadata().setName(STATEFULSET + "-gpu-0");
    assertThat(PodReadiness.ordinal(STATEFULSET, other.getMetadata().getName())).isEqualTo(-1);
    assertThat(PodReadiness.ordinal(STATEFULSET, STATEFULSET + "-12")).isEqualTo(12);
  }

  @Test
  void unschedulablePodQuotesTheScheduler() {
    WorkerPod pod = PodReadiness.describe(unschedulablePod(1));
    assertThat(pod.ready()).isFalse();
    assertThat(pod.reason())
        .startsWith(
            "not scheduled: Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu");
  }

  @Test
  void waitingContainerGivesItsReasonAndRestarts() {
    V1Pod pod = scheduledButNotReady();
    pod.getStatus()
        .addContainerStatusesItem(
            new V1ContainerStatus()
                .name("worker")
                .ready(false)
                .restartCount(3)
                .state(
                    new V1ContainerState()
                        .waiting(
                            new V1ContainerStateWaiting()
                                .reason("CrashLoopBackOff")
                                .message("back-off 40s restarting failed container"))));
    assertThat(PodReadiness.describe(pod).reason())
        .isEqualTo(
            "container worker waiting: CrashLoopBackOff: back-off 40s restarting failed container after 3 restarts");
  }

  @Test
  void terminatedContainerGivesItsExitCode() {
    V1Pod pod = scheduledButNotReady();
    pod.getStatus()
        .addContainerStatusesItem(
            new V1ContainerStatus()
                .name("worker")
                .ready(false)
                .restartCount(0)
                .state(
                    new V1ContainerState()
                        .terminated(
                            new V1ContainerStateTerminated().exitCode(137).reason("OOMKilled"))));
    assertThat(PodReadiness.describe(pod).reason())
        .isEqualTo("container worker exited with code 137 (OOMKilled)");
  }

  @Test
  void runningPodWithoutReadinessYetSaysSo() {
    assertThat(PodReadiness.describe(scheduledButNotReady()).reason())
        .isEqualTo("running, readiness probe not passing yet");
  }

  @Test
  void podBeingDeletedIsNotReadyEvenIfItsConditionSaysSo() {
    V1Pod pod = readyPod(0);
    pod.getMetadata().setDeletionTimestamp(OffsetDateTime.parse("2026-01-01T00:00:00Z"));
    assertThat(PodReadiness.isReady(pod)).isFalse();
    assertThat(PodReadiness.describe(pod).reason()).isEqualTo("being deleted");
    assertThat(PodReadiness.isReady(readyPod(0))).isTrue();
  }

  private static V1Pod scheduledButNotReady() {
    V1Pod pod = readyPod(0);
    pod.getStatus()
        .setConditions(
            List.of(
                new V1PodCondition().type("PodScheduled").status("True"),
                new V1PodCondition().type("Ready").status("False")));
    return pod;
  }
}
