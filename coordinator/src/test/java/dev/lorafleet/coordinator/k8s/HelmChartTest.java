package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.LorafleetChart.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.LintResult;
import dev.lorafleet.coordinator.k8s.LorafleetChart.Manifests;
import io.kubernetes.client.custom.Quantity;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyIngressRule;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPeer;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPort;
import io.kubernetes.client.openapi.models.V1PersistentVolumeClaim;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1Toleration;
import io.kubernetes.client.openapi.models.V1Volume;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Helm chart: helm lint and helm template in-process, manifests checked as objects. */
class HelmChartTest {
  private static final String COORDINATOR = "ft-lorafleet-coordinator";
  private static final String CLUSTER_SERVICE = "ft-lorafleet-coordinator-cluster";
  private static final String WORKER = "ft-lorafleet-worker";

  private static Manifests defaults;

  @BeforeAll
  static void renderDefaults() {
    defaults = LorafleetChart.template();
  }

  @Test
  void lintsCleanWithDefaultValues(@TempDir Path scratch) {
    LintResult lint = LorafleetChart.lint(scratch, Map.of());
    assertThat(lint.isFailed()).as("helm lint --strict: %s", lint.getMessages()).isFalse();
  }

  @ParameterizedTest(name = "{0} GPUs per worker")
  @ValueSource(ints = {4, 8})
  void lintsCleanForFourAndEightGpuWorkers(int gpus, @TempDir Path scratch) {
    LintResult lint = LorafleetChart.lint(scratch, Map.of("worker.gpusPerWorker", gpus));
    assertThat(lint.isFailed()).as("helm lint --strict: %s", lint.getMessages()).isFalse();
  }

  @Test
  void lintRefusesValuesTheSchemaForbids(@TempDir Path scratch) {
    LintResult lint =
        LorafleetChart.lint(
            scratch, Map.of("worker.gpusPerWorker", -1, "ports.aeronGradients", 70000));
    assertThat(lint.isFailed()).isTrue();
    assertThat(String.join("\n", lint.getMessages()))
        .contains("gpusPerWorker")
        .contains("aeronGradients");
  }

  @Test
  void templateRefusesMoreMinimumThanMaximumWorkers() {
    assertThatThrownBy(
            () ->
                LorafleetChart.template(
                    Map.of("scaling.minWorkers", "4", "scaling.maxWorkers", "2")))
        .hasMessageContaining("scaling.minWorkers (4) must not exceed scaling.maxWorkers (2)");
  }

  @ParameterizedTest(name = "{0} GPUs per worker")
  @ValueSource(ints = {4, 8})
  void workerPodRequestsItsGpus(int gpus) {
    Manifests manifests = LorafleetChart.template(Map.of("worker.gpusPerWorker", gpus));
    V1StatefulSet workers = manifests.named(V1StatefulSet.class, WORKER);
    V1Container worker = onlyContainer(workers.getSpec().getTemplate().getSpec());

    assertThat(worker.getResources().getLimits().get("nvidia.com/gpu"))
        .isEqualTo(new Quantity(String.valueOf(gpus)));
    // an extended resource's request must equal its limit
    assertThat(worker.getResources().getRequests().get("nvidia.com/gpu"))
        .isEqualTo(new Quantity(String.valueOf(gpus)));
    // the chart's CPU and memory settings survive the merge with the GPU count
    assertThat(worker.getResources().getLimits()).containsKey("memory");
    assertThat(worker.getResources().getRequests()).containsKeys("cpu", "memory");
  }

  @Test
  void cpuWorkersRequestNoGpus() {
    Manifests manifests = LorafleetChart.template(Map.of("worker.gpusPerWorker", 0));
    V1Container worker =
        onlyContainer(
            manifests.named(V1StatefulSet.class, WORKER).getSpec().getTemplate().getSpec());
    assertThat(worker.getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
    assertThat(worker.getResources().getRequests()).doesNotContainKey("nvidia.com/gpu");
  }

  @Test
  void workerJoinsTheCoordinatorAndRunsOnGpuNodes() {
    V1StatefulSet workers = defaults.named(V1StatefulSet.class, WORKER);
    V1PodSpec pod = workers.getSpec().getTemplate().getSpec();
    V1Container worker = onlyContainer(pod);

    assertThat(worker.getArgs())
        .containsSubsequence(
            "worker",
            "--coordinator",
            CLUSTER_SERVICE + "." + NAMESPACE + ".svc:25520",
            "--devices",
            "auto");
    assertThat(workers.getSpec().getServiceName()).isEqualTo(WORKER);
    assertThat(workers.getSpec().getPodManagementPolicy()).isEqualTo("Parallel");
    // created empty: the coordinator scales it to what jobs need
    assertThat(workers.getSpec().getReplicas()).isZero();
    assertThat(pod.getTolerations())
        .extracting(V1Toleration::getKey, V1Toleration::getEffect)
        .contains(org.assertj.core.groups.Tuple.tuple("nvidia.com/gpu", "NoSchedule"));
    assertThat(pod.getAutomountServiceAccountToken())
        .as("workers never call the Kubernetes API")
        .isFalse();
    assertThat(worker.getVolumeMounts())
        .anySatisfy(
            m -> {
              assertThat(m.getMountPath()).isEqualTo("/models");
              assertThat(m.getReadOnly()).isTrue();
            });
    assertThat(envVar(worker, "LORAFLEET_HOST").getValueFrom().getFieldRef().getFieldPath())
        .isEqualTo("status.podIP");
    assertThat(envVar(worker, "NODE_NAME").getValueFrom().getFieldRef().getFieldPath())
        .isEqualTo("metadata.name");
  }

  @Test
  void workerPlacementFollowsValues() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of(
                "worker.nodeSelector.node\\.kubernetes\\.io/instance-type", "p5.48xlarge",
                "worker.priorityClassName", "gpu-training"));
    V1PodSpec pod = manifests.named(V1StatefulSet.class, WORKER).getSpec().getTemplate().getSpec();
    assertThat(pod.getNodeSelector())
        .containsEntry("node.kubernetes.io/instance-type", "p5.48xlarge");
    assertThat(pod.getPriorityClassName()).isEqualTo("gpu-training");
    // the default anti-affinity names this release's workers (the template in values is expanded)
    assertThat(
            pod.getAffinity()
                .getPodAntiAffinity()
                .getPreferredDuringSchedulingIgnoredDuringExecution()
                .get(0)
                .getPodAffinityTerm()
                .getLabelSelector()
                .getMatchLabels())
        .containsEntry("app.kubernetes.io/instance", "ft")
        .containsEntry("app.kubernetes.io/component", "worker");
  }

  @Test
  void sharedMemoryIsMemoryBackedAndHoldsAeronTermBuffers() {
    V1PodSpec workerPod =
        defaults.named(V1StatefulSet.class, WORKER).getSpec().getTemplate().getSpec();
    V1PodSpec coordinatorPod =
        defaults.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec();

    long workerTerm = Long.parseLong(env(onlyContainer(workerPod), "LORAFLEET_AERON_TERM_LENGTH"));
    // a worker: its gradient publication, the parameter image, an IPC pair; 3 terms each
    assertShm(workerPod, 4 * 3 * workerTerm);

    V1Container coordinator = onlyContainer(coordinatorPod);
    long term = Long.parseLong(env(coordinator, "LORAFLEET_AERON_TERM_LENGTH"));
    int maxWorkers = Integer.parseInt(env(coordinator, "LORAFLEET_K8S_MAX_WORKERS"));
    // the coordinator: one gradient image and one parameter publication per worker, plus two
    assertShm(coordinatorPod, (2L * maxWorkers + 2) * 3 * term);
  }

  private static void assertShm(V1PodSpec pod, long neededBytes) {
    V1Volume shm = volume(pod, "dshm");
    assertThat(shm.getEmptyDir().getMedium()).isEqualTo("Memory");
    BigDecimal size = shm.getEmptyDir().getSizeLimit().getNumber();
    assertThat(size).isGreaterThanOrEqualTo(BigDecimal.valueOf(neededBytes));
    V1Container container = onlyContainer(pod);
    assertThat(container.getVolumeMounts())
        .anySatisfy(
            m -> {
              assertThat(m.getName()).isEqualTo("dshm");
              assertThat(m.getMountPath()).isEqualTo("/dev/shm");
            });
    // tmpfs pages count against the container's memory limit
    assertThat(container.getResources().getLimits().get("memory").getNumber()).isGreaterThan(size);
  }

  @Test
  void coordinatorKnowsItsDataDirTokenAndScalerTarget() {
    V1Deployment deployment = defaults.named(V1Deployment.class, COORDINATOR);
    V1PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    V1Container coordinator = onlyContainer(pod);

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
    assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("Recreate");
    assertThat(coordinator.getArgs())
        .containsSubsequence("coordinator", "--data-dir", "/data")
        .containsSubsequence("--token-file", "/etc/lorafleet/token")
        .containsSubsequence("--http-port", "8080")
        .containsSubsequence("--metrics-port", "9400");
    assertThat(env(coordinator, "LORAFLEET_K8S_STATEFULSET")).isEqualTo(WORKER);
    // it binds and advertises its pod IP; workers find it by the headless Service's name
    assertThat(envVar(coordinator, "LORAFLEET_HOST").getValueFrom().getFieldRef().getFieldPath())
        .isEqualTo("status.podIP");
    assertThat(
            envVar(coordinator, "LORAFLEET_K8S_NAMESPACE")
                .getValueFrom()
                .getFieldRef()
                .getFieldPath())
        .isEqualTo("metadata.namespace");
    assertThat(coordinator.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(coordinator.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(pod.getServiceAccountName()).isEqualTo(COORDINATOR);
    assertThat(pod.getAutomountServiceAccountToken()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(coordinator.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();

    // checkpoints on a claim the chart creates and keeps on uninstall
    String claim = volume(pod, "data").getPersistentVolumeClaim().getClaimName();
    V1PersistentVolumeClaim pvc = defaults.named(V1PersistentVolumeClaim.class, claim);
    assertThat(pvc.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
    assertThat(coordinator.getVolumeMounts())
        .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/data"));

    // the token comes from a generated Secret, mounted as the file the command line names
    V1Volume token = volume(pod, "token");
    V1Secret secret = defaults.named(V1Secret.class, token.getSecret().getSecretName());
    assertThat(secret.getData().get("token")).hasSize(40);
    assertThat(token.getSecret().getItems().get(0).getPath()).isEqualTo("token");
    assertThat(coordinator.getVolumeMounts())
        .anySatisfy(
            m -> {
              assertThat(m.getName()).isEqualTo("token");
              assertThat(m.getMountPath()).isEqualTo("/etc/lorafleet");
            });
  }

  @Test
  void existingSecretReplacesTheGeneratedToken() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of("auth.existingSecret", "team-token", "auth.secretKey", "api-token"));
    assertThat(manifests.all(V1Secret.class)).isEmpty();
    V1Volume token =
        volume(
            manifests.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec(),
            "token");
    assertThat(token.getSecret().getSecretName()).isEqualTo("team-token");
    assertThat(token.getSecret().getItems().get(0).getKey()).isEqualTo("api-token");
  }

  @Test
  void givenTokenIsStoredAsIs() {
    Manifests manifests = LorafleetChart.template(Map.of("auth.token", "s3cret-token"));
    V1Secret secret = manifests.all(V1Secret.class).get(0);
    assertThat(new String(secret.getData().get("token"), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("s3cret-token");
  }

  @Test
  void servicesExposeApiMetricsClusterAndAeronPorts() {
    V1Service api = defaults.named(V1Service.class, COORDINATOR);
    assertThat(ports(api)).containsExactly("http/TCP/8080", "metrics/TCP/9400");

    V1Service cluster = defaults.named(V1Service.class, CLUSTER_SERVICE);
    assertThat(cluster.getSpec().getClusterIP()).isEqualTo("None");
    assertThat(cluster.getSpec().getPublishNotReadyAddresses()).isTrue();
    assertThat(ports(cluster))
        .containsExactly("pekko/TCP/25520", "aeron-grads/UDP/40123", "aeron-params/UDP/40124");

    V1Service workers = defaults.named(V1Service.class, WORKER);
    assertThat(workers.getSpec().getClusterIP()).isEqualTo("None");
    // a worker's Pekko and Aeron ports are picked at start: only metrics is a fixed port
    assertThat(ports(workers)).containsExactly("metrics/TCP/9400");

    // every Service port points at a container port of the pods it selects
    V1Container coordinator =
        onlyContainer(
            defaults.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec());
    V1Container worker =
        onlyContainer(
            defaults.named(V1StatefulSet.class, WORKER).getSpec().getTemplate().getSpec());
    assertThat(containerPorts(coordinator)).containsAll(ports(api)).containsAll(ports(cluster));
    assertThat(containerPorts(worker)).containsAll(ports(workers));
  }

  @Test
  void portValuesReachServicesPodsAndPolicies() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of("ports.aeronGradients", 41000, "ports.aeronParams", 41001, "ports.pekko", 2552));
    assertThat(ports(manifests.named(V1Service.class, CLUSTER_SERVICE)))
        .containsExactly("pekko/TCP/2552", "aeron-grads/UDP/41000", "aeron-params/UDP/41001");
    V1Container worker =
        onlyContainer(
            manifests.named(V1StatefulSet.class, WORKER).getSpec().getTemplate().getSpec());
    assertThat(worker.getArgs()).contains(CLUSTER_SERVICE + "." + NAMESPACE + ".svc:2552");
    V1Container coordinator =
        onlyContainer(
            manifests.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec());
    assertThat(env(coordinator, "LORAFLEET_AERON_GRADIENTS_PORT")).isEqualTo("41000");
    assertThat(env(coordinator, "LORAFLEET_AERON_PARAMS_PORT")).isEqualTo("41001");
    assertThat(env(coordinator, "LORAFLEET_CLUSTER_PORT")).isEqualTo("2552");
    assertThat(clusterPortsOf(manifests.named(V1NetworkPolicy.class, COORDINATOR)))
        .containsExactlyInAnyOrder("TCP/2552", "UDP/41000", "UDP/41001");
  }

  @Test
  void roleGrantsScaleOfItsOwnStatefulSetAndPodReadsOnly() {
    V1Role role = defaults.named(V1Role.class, COORDINATOR + "-scaler");
    assertThat(role.getMetadata().getNamespace()).isNull(); // namespaced by the release

    assertThat(role.getRules()).hasSize(2);
    V1PolicyRule scale = role.getRules().get(0);
    assertThat(scale.getApiGroups()).containsExactly("apps");
    assertThat(scale.getResources()).containsExactly("statefulsets/scale");
    assertThat(scale.getResourceNames()).containsExactly(WORKER);
    assertThat(scale.getVerbs()).containsExactlyInAnyOrder("get", "patch");

    V1PolicyRule pods = role.getRules().get(1);
    assertThat(pods.getApiGroups()).containsExactly("");
    assertThat(pods.getResources()).containsExactly("pods");
    assertThat(pods.getVerbs()).containsExactlyInAnyOrder("get", "list", "watch");

    // nothing on the StatefulSet itself, no pod creation, no secrets
    assertThat(role.getRules())
        .flatExtracting(V1PolicyRule::getResources)
        .doesNotContain("statefulsets", "secrets", "*")
        .allSatisfy(r -> assertThat(r).isIn("statefulsets/scale", "pods"));
    assertThat(role.getRules())
        .flatExtracting(V1PolicyRule::getVerbs)
        .doesNotContain("create", "update", "delete", "deletecollection", "*");

    V1RoleBinding binding = defaults.named(V1RoleBinding.class, COORDINATOR + "-scaler");
    assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
    assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
    assertThat(binding.getSubjects())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.getKind()).isEqualTo("ServiceAccount");
              assertThat(s.getName()).isEqualTo(COORDINATOR);
              assertThat(s.getNamespace()).isEqualTo(NAMESPACE);
            });
  }

  @Test
  void withScalingAndTheKubernetesLeaseOffTheCoordinatorGetsNoApiAccess() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of("scaling.enabled", false, "coordinator.lease.kubernetes", false));
    assertThat(manifests.all(V1Role.class)).isEmpty();
    assertThat(manifests.all(V1RoleBinding.class)).isEmpty();
    assertThat(manifests.all(V1Lease.class)).isEmpty();
    V1PodSpec pod =
        manifests.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec();
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(onlyContainer(pod).getEnv())
        .extracting(V1EnvVar::getName)
        .doesNotContain("LORAFLEET_K8S_STATEFULSET", "LORAFLEET_K8S_LEASE");
  }

  @Test
  void leaseRoleGrantsGetAndUpdateOfTheCoordinatorsOwnLeaseOnly() {
    V1Lease lease = defaults.named(V1Lease.class, COORDINATOR);
    assertThat(lease.getSpec()).isNull(); // the coordinator fills it in; Helm leaves it alone

    V1Role role = defaults.named(V1Role.class, COORDINATOR + "-lease");
    assertThat(role.getRules())
        .singleElement()
        .satisfies(
            rule -> {
              assertThat(rule.getApiGroups()).containsExactly("coordination.k8s.io");
              assertThat(rule.getResources()).containsExactly("leases");
              assertThat(rule.getResourceNames()).containsExactly(COORDINATOR);
              assertThat(rule.getVerbs()).containsExactlyInAnyOrder("get", "update");
            });
    V1RoleBinding binding = defaults.named(V1RoleBinding.class, COORDINATOR + "-lease");
    assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
    assertThat(binding.getSubjects())
        .singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo(COORDINATOR));

    V1Container coordinator =
        onlyContainer(
            defaults.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec());
    assertThat(env(coordinator, "LORAFLEET_K8S_LEASE")).isEqualTo(COORDINATOR);
    assertThat(
            envVar(coordinator, "LORAFLEET_K8S_LEASE_HOLDER")
                .getValueFrom()
                .getFieldRef()
                .getFieldPath())
        .isEqualTo("metadata.name");
    assertThat(env(coordinator, "LORAFLEET_K8S_LEASE_DURATION")).isEqualTo("15s");
    assertThat(env(coordinator, "LORAFLEET_LEASE_WAIT")).isEqualTo("5m");
  }

  @Test
  void withScalingOffTheLeaseStillGetsItsRoleNamespaceAndToken() {
    Manifests manifests = LorafleetChart.template(Map.of("scaling.enabled", false));
    assertThat(manifests.all(V1Role.class))
        .extracting(r -> r.getMetadata().getName())
        .containsExactly(COORDINATOR + "-lease");
    V1PodSpec pod =
        manifests.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec();
    assertThat(pod.getAutomountServiceAccountToken()).isTrue();
    assertThat(onlyContainer(pod).getEnv())
        .extracting(V1EnvVar::getName)
        .contains("LORAFLEET_K8S_LEASE", "LORAFLEET_K8S_NAMESPACE")
        .doesNotContain("LORAFLEET_K8S_STATEFULSET");
  }

  @Test
  void networkPolicyLetsOnlyReleasePodsReachPekkoAndAeron() {
    Map<String, String> releasePods =
        Map.of("app.kubernetes.io/name", "lorafleet", "app.kubernetes.io/instance", "ft");
    Set<String> clusterPorts = Set.of("TCP/25520", "UDP/40123", "UDP/40124");

    // the coordinator: its fixed cluster ports, to this release's pods in this namespace only
    V1NetworkPolicy coordinatorPolicy = defaults.named(V1NetworkPolicy.class, COORDINATOR);
    assertThat(coordinatorPolicy.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(clusterPortsOf(coordinatorPolicy)).containsExactlyInAnyOrderElementsOf(clusterPorts);
    for (V1NetworkPolicyIngressRule rule : coordinatorPolicy.getSpec().getIngress()) {
      assertThat(rule.getPorts()).as("every coordinator rule names its ports").isNotEmpty();
      if (rule.getPorts().stream().map(HelmChartTest::portKey).anyMatch(clusterPorts::contains)) {
        assertOnlyReleasePods(rule, releasePods);
        assertThat(rule.getPorts().stream().map(HelmChartTest::portKey))
            .allMatch(clusterPorts::contains);
      }
    }

    // a worker: its Pekko and Aeron ports are free ports picked at start, so the release's pods
    // may reach any port; everyone else only the metrics port
    V1NetworkPolicy workerPolicy = defaults.named(V1NetworkPolicy.class, WORKER);
    assertThat(workerPolicy.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(workerPolicy.getSpec().getIngress()).hasSize(2);
    for (V1NetworkPolicyIngressRule rule : workerPolicy.getSpec().getIngress()) {
      if (rule.getPorts() == null || rule.getPorts().isEmpty()) {
        assertOnlyReleasePods(rule, releasePods);
      } else {
        assertThat(rule.getPorts()).extracting(HelmChartTest::portKey).containsExactly("TCP/9400");
      }
    }

    // the policies select the pods they are meant for, and the release's pods carry the labels
    Map<String, String> coordinatorLabels =
        defaults
            .named(V1Deployment.class, COORDINATOR)
            .getSpec()
            .getTemplate()
            .getMetadata()
            .getLabels();
    Map<String, String> workerLabels =
        defaults
            .named(V1StatefulSet.class, WORKER)
            .getSpec()
            .getTemplate()
            .getMetadata()
            .getLabels();
    assertThat(coordinatorLabels)
        .containsAllEntriesOf(coordinatorPolicy.getSpec().getPodSelector().getMatchLabels())
        .containsAllEntriesOf(releasePods);
    assertThat(workerLabels)
        .containsAllEntriesOf(workerPolicy.getSpec().getPodSelector().getMatchLabels())
        .containsAllEntriesOf(releasePods);
    assertThat(coordinatorPolicy.getSpec().getPodSelector().getMatchLabels())
        .containsEntry("app.kubernetes.io/component", "coordinator");
    assertThat(workerPolicy.getSpec().getPodSelector().getMatchLabels())
        .containsEntry("app.kubernetes.io/component", "worker");
  }

  private static void assertOnlyReleasePods(
      V1NetworkPolicyIngressRule rule, Map<String, String> releasePods) {
    assertThat(rule.getFrom())
        .as("sources of %s", rule.getPorts())
        .singleElement()
        .satisfies(
            peer -> {
              assertThat(peer.getNamespaceSelector()).isNull();
              assertThat(peer.getIpBlock()).isNull();
              assertThat(peer.getPodSelector().getMatchLabels()).isEqualTo(releasePods);
            });
  }

  @Test
  void apiAndMetricsAreOpenByDefaultAndRestrictedWhenConfigured() {
    V1NetworkPolicy open = defaults.named(V1NetworkPolicy.class, COORDINATOR);
    assertThat(ruleFor(open, "TCP/8080").getFrom()).isNullOrEmpty();
    assertThat(ruleFor(open, "TCP/9400").getFrom()).isNullOrEmpty();

    Manifests restricted =
        LorafleetChart.template(
            Map.of(
                "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team", "monitoring",
                "networkPolicy.httpFrom[0].ipBlock.cidr", "10.0.0.0/8"));
    V1NetworkPolicy coordinator = restricted.named(V1NetworkPolicy.class, COORDINATOR);
    assertThat(ruleFor(coordinator, "TCP/8080").getFrom())
        .extracting(p -> p.getIpBlock().getCidr())
        .containsExactly("10.0.0.0/8");
    for (V1NetworkPolicy policy : restricted.all(V1NetworkPolicy.class)) {
      assertThat(ruleFor(policy, "TCP/9400").getFrom())
          .extracting(V1NetworkPolicyPeer::getNamespaceSelector)
          .extracting(s -> s.getMatchLabels().get("team"))
          .containsExactly("monitoring");
    }
  }

  @Test
  void serviceMonitorScrapesBothServicesOnlyWhenEnabled() {
    assertThat(defaults.custom()).isEmpty();
    Manifests manifests =
        LorafleetChart.template(
            Map.of("serviceMonitor.enabled", true, "serviceMonitor.labels.release", "kps"));
    Map<String, Object> monitor = manifests.custom().get(0);
    assertThat(monitor).containsEntry("apiVersion", "monitoring.coreos.com/v1");
    assertThat(manifests.text()).contains("release: kps");
    @SuppressWarnings("unchecked")
    Map<String, String> selector =
        (Map<String, String>)
            ((Map<String, Object>) ((Map<String, Object>) monitor.get("spec")).get("selector"))
                .get("matchLabels");
    for (String service : List.of(COORDINATOR, WORKER)) {
      assertThat(manifests.named(V1Service.class, service).getMetadata().getLabels())
          .containsAllEntriesOf(selector);
    }
    assertThat(manifests.named(V1Service.class, CLUSTER_SERVICE).getMetadata().getLabels())
        .doesNotContainKey("lorafleet.dev/metrics");
  }

  @Test
  void dashboardShipsAsConfigMapForTheGrafanaSidecar() throws Exception {
    V1ConfigMap dashboard = defaults.named(V1ConfigMap.class, "ft-lorafleet-dashboard");
    assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    JsonNode json = new ObjectMapper().readTree(dashboard.getData().get("lorafleet.json"));
    assertThat(json.path("title").asText()).isNotBlank();
    assertThat(json.path("panels").isArray()).isTrue();
  }

  @Test
  void dashboardInTheChartIsTheOneInDeploy() throws Exception {
    Path deployed = LorafleetChart.directory().resolve("../../deploy/grafana/lorafleet.json");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        Files.exists(deployed), "deploy/grafana/lorafleet.json is not written yet");
    assertThat(LorafleetChart.directory().resolve("files/lorafleet-dashboard.json"))
        .as("helm/lorafleet/files/lorafleet-dashboard.json must be a copy of %s", deployed)
        .hasSameTextualContentAs(deployed);
  }

  @Test
  void rendersWithEveryOptionalPartSwitchedOff() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of(
                "persistence.enabled", false,
                "auth.enabled", false,
                "networkPolicy.enabled", false,
                "grafana.dashboard.enabled", false,
                "serviceAccount.create", false,
                "rbac.create", false));
    assertThat(manifests.objects())
        .extracting(o -> o.getKind())
        .containsExactlyInAnyOrder("Service", "Service", "Service", "Deployment", "StatefulSet");
    V1PodSpec pod =
        manifests.named(V1Deployment.class, COORDINATOR).getSpec().getTemplate().getSpec();
    assertThat(volume(pod, "data").getEmptyDir()).isNotNull();
    assertThat(onlyContainer(pod).getArgs()).doesNotContain("--token-file");
    assertThat(pod.getServiceAccountName()).isEqualTo("default");
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
  }

  @Test
  void longReleaseNamesStillMakeValidPodNames() {
    Manifests manifests =
        LorafleetChart.template(
            Map.of("fullnameOverride", "a-very-long-release-name-for-fine-tuning-runs"));
    V1StatefulSet workers = manifests.all(V1StatefulSet.class).get(0);
    // pod names are <statefulset>-<ordinal>; the revision-hash label adds ~11 characters
    assertThat(workers.getMetadata().getName().length() + "-123".length() + 11)
        .isLessThanOrEqualTo(63);
    assertThat(manifests.objects())
        .allSatisfy(o -> assertThat(o.getMetadata().getName()).hasSizeLessThanOrEqualTo(63));
  }

  // --- helpers

  private static V1Container onlyContainer(V1PodSpec pod) {
    assertThat(pod.getContainers()).hasSize(1);
    return pod.getContainers().get(0);
  }

  private static String env(V1Container container, String name) {
    return envVar(container, name).getValue();
  }

  private static V1EnvVar envVar(V1Container container, String name) {
    return container.getEnv().stream()
        .filter(e -> e.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(container.getName() + " has no env " + name));
  }

  private static V1Volume volume(V1PodSpec pod, String name) {
    return pod.getVolumes().stream()
        .filter(v -> v.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("pod has no volume " + name));
  }

  private static List<String> ports(V1Service service) {
    return service.getSpec().getPorts().stream()
        .map((V1ServicePort p) -> p.getName() + "/" + p.getProtocol() + "/" + p.getPort())
        .toList();
  }

  private static Set<String> containerPorts(V1Container container) {
    return container.getPorts().stream()
        .map(
            (V1ContainerPort p) -> p.getName() + "/" + p.getProtocol() + "/" + p.getContainerPort())
        .collect(Collectors.toSet());
  }

  private static String portKey(V1NetworkPolicyPort port) {
    return port.getProtocol() + "/" + port.getPort().getIntValue();
  }

  /** Ports opened to specific sources only: the cluster ports. */
  private static Set<String> clusterPortsOf(V1NetworkPolicy policy) {
    return policy.getSpec().getIngress().stream()
        .filter(r -> r.getFrom() != null && !r.getFrom().isEmpty())
        .filter(r -> r.getFrom().stream().allMatch(p -> p.getPodSelector() != null))
        .filter(r -> r.getPorts() != null)
        .flatMap(r -> r.getPorts().stream())
        .map(HelmChartTest::portKey)
        .collect(Collectors.toSet());
  }

  private static V1NetworkPolicyIngressRule ruleFor(V1NetworkPolicy policy, String port) {
    return policy.getSpec().getIngress().stream()
        .filter(r -> r.getPorts() != null)
        .filter(r -> r.getPorts().stream().map(HelmChartTest::portKey).anyMatch(port::equals))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError(policy.getMetadata().getName() + " opens no " + port));
  }
}
