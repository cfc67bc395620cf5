package dev.lorafleet.coordinator.k8s;

import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.NAMESPACE;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.STATEFULSET;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.readyPod;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.scale;
import static dev.lorafleet.coordinator.k8s.FakeKubernetesApi.unschedulablePod;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.k8s.FakeKubernetesApi.Request;
import dev.lorafleet.coordinator.k8s.FakeKubernetesApi.WatchEvent;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's Roles grant exactly what the scaler and the coordinator's Lease use. The scaler is
 * driven through every path it has (scale with a conflict, wait for pods that never get ready,
 * status) against the fake API; each recorded request is turned into RBAC's terms (verb, API group,
 * resource/subresource, name, namespace), as the API server's authorizer does, and checked against
 * the rendered Role both ways. The Lease likewise: taken over from a holder that stopped renewing
 * (with a conflict on the way), renewed, let go.
 */
class RbacMinimalityTest {
  private static final Pattern CORE =
      Pattern.compile("/api/v1/namespaces/([^/]+)/([^/]+)(?:/([^/]+)(?:/([^/]+))?)?");
  private static final Pattern GROUPED =
      Pattern.compile("/apis/([^/]+)/[^/]+/namespaces/([^/]+)/([^/]+)(?:/([^/]+)(?:/([^/]+))?)?");

  private static V1Role role;
  private static List<Attributes> used;
  private static V1Role leaseRole;
  private static List<Attributes> leaseUsed;

  /** A request as the authorizer sees it. */
  record Attributes(String verb, String group, String resource, String name, String namespace) {}

  @BeforeAll
  static void driveTheScalerThroughEveryPath() {
    assertThat(LorafleetChart.NAMESPACE).isEqualTo(NAMESPACE);
    role = LorafleetChart.template().named(V1Role.class, "ft-lorafleet-coordinator-scaler");

    try (FakeKubernetesApi api = new FakeKubernetesApi()) {
      KubernetesWorkerScaler scaler =
          new KubernetesWorkerScaler(
              api.client(Duration.ofSeconds(5)),
              api.client(Duration.ofSeconds(10)),
              KubernetesSettings.of(NAMESPACE, STATEFULSET),
              new KubernetesWorkerScalerTest.TickingClock(Duration.ofSeconds(20)),
              pause -> {});

      api.scaleIsThenChangesTo(scale(1, 1, "41"), scale(2, 2, "42"));
      api.patchConflicts("41", 3);
      api.patchAccepted("42", 3, "43");
      assertThat(scaler.scale(3)).isInstanceOf(ScaleResult.Scaled.class);

      api.podsAre("200", readyPod(0), readyPod(1), unschedulablePod(2));
      api.watchStreams(new WatchEvent("MODIFIED", unschedulablePod(2)));
      api.podIs(unschedulablePod(2));
      assertThat(scaler.awaitReady(3, Duration.ofMinutes(1)))
          .isInstanceOf(ReadinessResult.NotReady.class);

      assertThat(scaler.status().replicas()).isNotNull();

      used = api.requests().stream().map(RbacMinimalityTest::attributesOf).toList();
    }
  }

  @BeforeAll
  static void driveTheLeaseThroughEveryPathInAChartInstall() throws Exception {
    leaseRole = LorafleetChart.template().named(V1Role.class, "ft-lorafleet-coordinator-lease");
    try (FakeKubernetesApi api = new FakeKubernetesApi()) {
      api.servesLeases();
      KubernetesCoordinatorLeaseTest.ManualClock clock =
          new KubernetesCoordinatorLeaseTest.ManualClock();
      // the chart created the Lease; the previous coordinator pod held it and stopped renewing
      api.leaseIs(
          FakeKubernetesApi.leaseHeldBy("ft-lorafleet-coordinator-old", clock.instant(), 15));
      api.anotherWriterBeforeNextUpdate(
          l -> {
            l.getMetadata().putLabelsItem("touched", "yes");
            return l;
          });
      KubernetesCoordinatorLease lease =
          KubernetesCoordinatorLease.acquire(
              api.client(Duration.ofSeconds(5)),
              KubernetesLeaseSettings.of(
                  NAMESPACE,
                  FakeKubernetesApi.LEASE,
                  "ft-lorafleet-coordinator-new",
                  Duration.ofSeconds(15)),
              Duration.ofMinutes(1),
              clock,
              clock::advance);
      lease.renew();
      lease.close();
      leaseUsed = api.requests().stream().map(RbacMinimalityTest::attributesOf).toList();
    }
  }

  @AfterAll
  static void forget() {
    used = null;
    leaseUsed = null;
  }

  @Test
  void everyRequestTheLeaseMakesIsAllowedByItsRole() {
    assertThat(leaseUsed).isNotEmpty();
    assertThat(leaseUsed)
        .allSatisfy(
            request ->
                assertThat(allows(leaseRole, request))
                    .as("the lease Role allows %s", request)
                    .isTrue());
    // and the scaler's Role does not: each Role serves one purpose
    assertThat(leaseUsed).noneMatch(request -> allows(role, request));
  }

  @Test
  void theLeaseRoleGrantsNothingTheLeaseDoesNotUse() {
    grantsOnlyWhatIsUsed(leaseRole, leaseUsed);
    Set<String> combinations = new LinkedHashSet<>();
    leaseUsed.forEach(a -> combinations.add(a.verb() + " " + a.resource() + " " + a.name()));
    assertThat(combinations)
        .containsExactlyInAnyOrder(
            "get leases ft-lorafleet-coordinator", "update leases ft-lorafleet-coordinator");
  }

  @Test
  void theCheckRefusesWhatTheLeaseRoleDoesNotGrant() {
    String leases = "/apis/coordination.k8s.io/v1/namespaces/" + NAMESPACE + "/leases";
    List<Request> outside =
        List.of(
            new Request("POST", leases, Map.of(), null, "{}"),
            new Request("GET", leases, Map.of(), null, ""),
            new Request("DELETE", leases + "/ft-lorafleet-coordinator", Map.of(), null, ""),
            new Request("PATCH", leases + "/ft-lorafleet-coordinator", Map.of(), null, "{}"),
            new Request("PUT", leases + "/kube-scheduler", Map.of(), null, "{}"),
            new Request("GET", leases + "/someone-else", Map.of(), null, ""),
            new Request(
                "GET",
                "/apis/coordination.k8s.io/v1/namespaces/other/leases/ft-lorafleet-coordinator",
                Map.of(),
                null,
                ""));
    assertThat(outside)
        .allSatisfy(
            request ->
                assertThat(allows(leaseRole, attributesOf(request)))
                    .as("the lease Role refuses %s", request)
                    .isFalse());
  }

  /** Every verb, resource and name a Role grants is one the code was seen to use. */
  private static void grantsOnlyWhatIsUsed(V1Role granted, List<Attributes> seen) {
    for (V1PolicyRule rule : granted.getRules()) {
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            assertThat(seen)
                .as(
                    "the Role grants %s on %s (group '%s') but the code never uses it",
                    verb, resource, group)
                .anyMatch(
                    a ->
                        a.verb().equals(verb)
                            && a.group().equals(group)
                            && a.resource().equals(resource));
          }
        }
      }
      for (String name :
          rule.getResourceNames() == null ? List.<String>of() : rule.getResourceNames()) {
        assertThat(seen).as("resourceName %s is used", name).anyMatch(a -> name.equals(a.name()));
      }
    }
  }

  @Test
  void everyRequestTheScalerMakesIsAllowedByTheRole() {
    assertThat(used).isNotEmpty();
    assertThat(used)
        .allSatisfy(
            request ->
                assertThat(allows(role, request)).as("the Role allows %s", request).isTrue());
  }

  @Test
  void theRoleGrantsNothingTheScalerDoesNotUse() {
    for (V1PolicyRule rule : role.getRules()) {
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            assertThat(used)
                .as(
                    "the Role grants %s on %s (group '%s') but the scaler never uses it",
                    verb, resource, group)
                .anyMatch(
                    a ->
                        a.verb().equals(verb)
                            && a.group().equals(group)
                            && a.resource().equals(resource));
          }
        }
      }
      for (String name :
          rule.getResourceNames() == null ? List.<String>of() : rule.getResourceNames()) {
        assertThat(used).as("resourceName %s is used", name).anyMatch(a -> name.equals(a.name()));
      }
    }
    // the scaler used exactly these combinations
    Set<String> combinations = new LinkedHashSet<>();
    used.forEach(a -> combinations.add(a.verb() + " " + a.resource()));
    assertThat(combinations)
        .containsExactlyInAnyOrder(
            "get statefulsets/scale",
            "patch statefulsets/scale",
            "list pods",
            "watch pods",
            "get pods");
  }

  @Test
  void theCheckRefusesWhatTheRoleDoesNotGrant() {
    String sts = "/apis/apps/v1/namespaces/" + NAMESPACE + "/statefulsets/";
    List<Request> outside =
        List.of(
            // the StatefulSet itself (would allow changing the pod template)
            new Request("PATCH", sts + STATEFULSET, Map.of(), null, "{}"),
            new Request("GET", sts + STATEFULSET, Map.of(), null, ""),
            // another StatefulSet's scale
            new Request("PATCH", sts + "someone-elses/scale", Map.of(), null, "{}"),
            new Request("PUT", sts + STATEFULSET + "/scale", Map.of(), null, "{}"),
            new Request("POST", "/api/v1/namespaces/" + NAMESPACE + "/pods", Map.of(), null, "{}"),
            new Request(
                "DELETE", "/api/v1/namespaces/" + NAMESPACE + "/pods/x", Map.of(), null, ""),
            new Request(
                "GET", "/api/v1/namespaces/" + NAMESPACE + "/secrets/token", Map.of(), null, ""),
            new Request(
                "GET", "/api/v1/namespaces/" + NAMESPACE + "/pods/x/log", Map.of(), null, ""),
            new Request("GET", "/api/v1/namespaces/other/pods", Map.of(), null, ""));
    assertThat(outside)
        .allSatisfy(
            request ->
                assertThat(allows(role, attributesOf(request)))
                    .as("the Role refuses %s", request)
                    .isFalse());
  }

  /** As the API server's request-info resolver does it, for the paths the scaler can use. */
  static Attributes attributesOf(Request request) {
    String group;
    String namespace;
    String resource;
    String name;
    String subresource;
    Matcher core = CORE.matcher(request.path());
    Matcher grouped = GROUPED.matcher(request.path());
    if (core.matches()) {
      group = "";
      namespace = core.group(1);
      resource = core.group(2);
      name = core.group(3);
      subresource = core.group(4);
    } else if (grouped.matches()) {
      group = grouped.group(1);
      namespace = grouped.group(2);
      resource = grouped.group(3);
      name = grouped.group(4);
      subresource = grouped.group(5);
    } else {
      throw new AssertionError("not a namespaced resource path: " + request);
    }
    String verb =
        switch (request.method()) {
          case "GET" ->
              name != null ? "get" : "true".equals(request.query().get("watch")) ? "watch" : "list";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> name != null ? "delete" : "deletecollection";
          default -> throw new AssertionError("unexpected method " + request);
        };
    return new Attributes(
        verb,
        group,
        subresource == null ? resource : resource + "/" + subresource,
        name,
        namespace);
  }

  /** RBAC's rule matching for a namespaced Role in the release's namespace. */
  static boolean allows(V1Role role, Attributes request) {
    if (!NAMESPACE.equals(request.namespace())) {
      return false;
    }
    for (V1PolicyRule rule : role.getRules()) {
      boolean group = matches(rule.getApiGroups(), request.group());
      boolean resource = matches(rule.getResources(), request.resource());
      boolean verb = matches(rule.getVerbs(), request.verb());
      List<String> names = rule.getResourceNames();
      boolean name =
          names == null
              || names.isEmpty()
              || (request.name() != null && names.contains(request.name()));
      if (group && resource && verb && name) {
        return true;
      }
    }
    return false;
  }

  private static boolean matches(List<String> allowed, String value) {
    return allowed != null && (allowed.contains("*") || allowed.contains(value));
  }
}
