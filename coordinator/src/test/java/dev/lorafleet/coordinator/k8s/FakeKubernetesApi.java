package dev.lorafleet.coordinator.k8s;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.patch;
import static com.github.tomakehurst.wiremock.client.WireMock.request;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1ListMeta;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodCondition;
import io.kubernetes.client.openapi.models.V1PodList;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1PodStatus;
import io.kubernetes.client.openapi.models.V1Scale;
import io.kubernetes.client.openapi.models.V1ScaleSpec;
import io.kubernetes.client.openapi.models.V1ScaleStatus;
import io.kubernetes.client.openapi.models.V1Status;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A FAKE Kubernetes API server, made with WireMock: no Kubernetes API server runs on the machines
 * these tests run on. It answers the few endpoints the scaler uses with objects built from the
 * client's own models, can refuse (403, 404, 409, 503, slow answers), and records every request
 * exactly as it arrived (method, path, query, content type, body).
 */
final class FakeKubernetesApi implements AutoCloseable {
  static final String NAMESPACE = "training";
  static final String STATEFULSET = "ft-lorafleet-worker";
  static final String SELECTOR =
      "app.kubernetes.io/component=worker,app.kubernetes.io/instance=ft,app.kubernetes.io/name=lorafleet";

  static final String SCALE_PATH =
      "/apis/apps/v1/namespaces/" + NAMESPACE + "/statefulsets/" + STATEFULSET + "/scale";
  static final String PODS_PATH = "/api/v1/namespaces/" + NAMESPACE + "/pods";

  static final String LEASE = "ft-lorafleet-coordinator";
  static final String LEASES_PATH =
      "/apis/coordination.k8s.io/v1/namespaces/" + NAMESPACE + "/leases";
  static final String LEASE_PATH = LEASES_PATH + "/" + LEASE;

  private final WireMockServer server;
  private final LeaseStore leases = new LeaseStore();

  FakeKubernetesApi() {
    server = new WireMockServer(options().dynamicPort().extensions(leases));
    server.start();
  }

  /** Forgets every stub, recorded request and Lease: one fake serves a whole test class. */
  void reset() {
    server.resetAll();
    leases.clear();
  }

  String url() {
    return server.baseUrl();
  }

  /** A client of this fake, as the scaler's would be of a real server. */
  ApiClient client(Duration readTimeout) {
    ApiClient client = new ApiClient();
    client.setBasePath(url());
    client.setReadTimeout((int) readTimeout.toMillis());
    client.setConnectTimeout(2_000);
    return client;
  }

  // --- the scale subresource

  static V1Scale scale(int replicas, int readyReplicas, String resourceVersion) {
    return new V1Scale()
        .apiVersion("autoscaling/v1")
        .kind("Scale")
        .metadata(
            new V1ObjectMeta()
                .name(STATEFULSET)
                .namespace(NAMESPACE)
                .resourceVersion(resourceVersion))
        .spec(new V1ScaleSpec().replicas(replicas))
        .status(new V1ScaleStatus().replicas(readyReplicas).selector(SELECTOR));
  }

  /** GET of the scale subresource answers this. */
  void scaleIs(int replicas, String resourceVersion) {
    server.stubFor(
        get(urlPathEqualTo(SCALE_PATH))
            .willReturn(json(200, scale(replicas, replicas, resourceVersion))));
  }

  /** A merge patch carrying {@code resourceVersion} is applied and answered with the new scale. */
  void patchAccepted(String resourceVersion, int replicas, String newResourceVersion) {
    server.stubFor(
        patchOfScale(resourceVersion, replicas)
            .willReturn(json(200, scale(replicas, 0, newResourceVersion))));
  }

  /** A merge patch carrying {@code resourceVersion} conflicts: someone changed the count since. */
  void patchConflicts(String resourceVersion, int replicas) {
    server.stubFor(
        patchOfScale(resourceVersion, replicas)
            .willReturn(
                status(
                    409,
                    "Conflict",
                    "Operation cannot be fulfilled on statefulsets.apps \""
                        + STATEFULSET
                        + "\": the object has been modified; please apply your changes to the"
                        + " latest version and try again")));
  }

  private static MappingBuilder patchOfScale(String resourceVersion, int replicas) {
    return patch(urlPathEqualTo(SCALE_PATH))
        .withHeader("Content-Type", containing("application/merge-patch+json"))
        .withRequestBody(matchingJsonPath("$.metadata.resourceVersion", equalTo(resourceVersion)))
        .withRequestBody(matchingJsonPath("$.spec.replicas", equalTo(String.valueOf(replicas))));
  }

  /** Sequenced answers for GET of the scale: the first, then the second for every later GET. */
  void scaleIsThenChangesTo(V1Scale first, V1Scale then) {
    String scenario = "scale-changes";
    server.stubFor(
        get(urlPathEqualTo(SCALE_PATH))
            .inScenario(scenario)
            .whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
            .willReturn(json(200, first))
            .willSetStateTo("changed"));
    server.stubFor(
        get(urlPathEqualTo(SCALE_PATH))
            .inScenario(scenario)
            .whenScenarioStateIs("changed")
            .willReturn(json(200, then)));
  }

  /** GET of the scale is slow the first time (longer than the client waits), then answers. */
  void scaleAnswersSlowlyOnceThen(Duration delay, int replicas, String resourceVersion) {
    String scenario = "slow-once";
    server.stubFor(
        get(urlPathEqualTo(SCALE_PATH))
            .inScenario(scenario)
            .whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
            .willReturn(
                json(200, scale(replicas, replicas, resourceVersion))
                    .withFixedDelay((int) delay.toMillis()))
            .willSetStateTo("answered"));
    server.stubFor(
        get(urlPathEqualTo(SCALE_PATH))
            .inScenario(scenario)
            .whenScenarioStateIs("answered")
            .willReturn(json(200, scale(replicas, replicas, resourceVersion))));
  }

  // --- leases (coordination.k8s.io/v1), kept in a store as the API server keeps them

  /**
   * The Lease endpoints answer from a store, as the API server does: GET (404 when missing), POST
   * (409 AlreadyExists when present), PUT (409 Conflict unless it carries the stored
   * resourceVersion; every accepted write gets a new one).
   */
  void servesLeases() {
    server.stubFor(
        request("GET", urlPathMatching(LEASES_PATH + "/[^/]+"))
            .willReturn(aResponse().withTransformers(LeaseStore.NAME)));
    server.stubFor(
        request("PUT", urlPathMatching(LEASES_PATH + "/[^/]+"))
            .willReturn(aResponse().withTransformers(LeaseStore.NAME)));
    server.stubFor(
        request("POST", urlPathEqualTo(LEASES_PATH))
            .willReturn(aResponse().withTransformers(LeaseStore.NAME)));
  }

  /** Puts {@code lease} in the store (a new resourceVersion is given to it); returns it stored. */
  V1Lease leaseIs(V1Lease lease) {
    return leases.put(lease);
  }

  /** The stored Lease, or null. */
  V1Lease lease(String name) {
    return leases.get(name);
  }

  /**
   * Just before the next PUT is judged, another writer changes the stored Lease (its
   * resourceVersion moves on), as a second coordinator or a person with kubectl would.
   */
  void anotherWriterBeforeNextUpdate(java.util.function.UnaryOperator<V1Lease> change) {
    leases.interfere(change);
  }

  /** A Lease held by {@code holder}, last renewed at {@code renewed}. */
  static V1Lease leaseHeldBy(String holder, java.time.Instant renewed, int seconds) {
    java.time.OffsetDateTime time =
        java.time.OffsetDateTime.ofInstant(renewed, java.time.ZoneOffset.UTC);
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(new V1ObjectMeta().name(LEASE).namespace(NAMESPACE))
        .spec(
            new V1LeaseSpec()
                .holderIdentity(holder)
                .leaseDurationSeconds(seconds)
                .acquireTime(time)
                .renewTime(time)
                .leaseTransitions(holder == null ? 0 : 1));
  }

  /** The stateful part of the fake: Leases by name, each write checked and versioned. */
  static final class LeaseStore implements ResponseDefinitionTransformerV2 {
    static final String NAME = "lease-store";
    private final Map<String, V1Lease> byName = new java.util.HashMap<>();
    private final java.util.Deque<java.util.function.UnaryOperator<V1Lease>> interference =
        new java.util.ArrayDeque<>();
    private long version = 500;

    @Override
    public String getName() {
      return NAME;
    }

    @Override
    public boolean applyGlobally() {
      return false;
    }

    synchronized void clear() {
      byName.clear();
      interference.clear();
    }

    synchronized V1Lease put(V1Lease lease) {
      V1Lease copy = JSON.deserialize(JSON.serialize(lease), V1Lease.class);
      copy.getMetadata().setResourceVersion(String.valueOf(++version));
      byName.put(copy.getMetadata().getName(), copy);
      return copy;
    }

    synchronized V1Lease get(String name) {
      return byName.get(name);
    }

    synchronized void interfere(java.util.function.UnaryOperator<V1Lease> change) {
      interference.add(change);
    }

    @Override
    public synchronized com.github.tomakehurst.wiremock.http.ResponseDefinition transform(
        ServeEvent event) {
      LoggedRequest request = event.getRequest();
      String path = URI.create(request.getUrl()).getPath();
      String name = path.equals(LEASES_PATH) ? null : path.substring(LEASES_PATH.length() + 1);
      String method = request.getMethod().getName();
      if (method.equals("GET")) {
        V1Lease lease = byName.get(name);
        return lease == null ? notFound(name).build() : json(200, lease).build();
      }
      V1Lease body = JSON.deserialize(request.getBodyAsString(), V1Lease.class);
      if (method.equals("POST")) {
        String created = body.getMetadata().getName();
        if (byName.containsKey(created)) {
          return status(
                  409,
                  "AlreadyExists",
                  "leases.coordination.k8s.io \"" + created + "\" already exists")
              .build();
        }
        return json(201, put(body)).build();
      }
      // PUT
      if (!byName.containsKey(name)) {
        return notFound(name).build();
      }
      if (!interference.isEmpty()) {
        put(interference.poll().apply(byName.get(name)));
      }
      String stored = byName.get(name).getMetadata().getResourceVersion();
      if (!stored.equals(body.getMetadata().getResourceVersion())) {
        return status(
                409,
                "Conflict",
                "Operation cannot be fulfilled on leases.coordination.k8s.io \""
                    + name
                    + "\": the object has been modified; please apply your changes to the latest"
                    + " version and try again")
            .build();
      }
      return json(200, put(body)).build();
    }

    private static ResponseDefinitionBuilder notFound(String name) {
      return status(404, "NotFound", "leases.coordination.k8s.io \"" + name + "\" not found");
    }
  }

  // --- pods

  static V1Pod readyPod(int ordinal) {
    return pod(ordinal, "Running", "node-" + ordinal)
        .status(
            new V1PodStatus()
                .phase("Running")
                .addConditionsItem(new V1PodCondition().type("PodScheduled").status("True"))
                .addConditionsItem(new V1PodCondition().type("Ready").status("True")));
  }

  /** A pod the scheduler cannot place: no node has the GPUs it asks for. */
  static V1Pod unschedulablePod(int ordinal) {
    return pod(ordinal, "Pending", null)
        .status(
            new V1PodStatus()
                .phase("Pending")
                .addConditionsItem(
                    new V1PodCondition()
                        .type("PodScheduled")
                        .status("False")
                        .reason("Unschedulable")
                        .message(
                            "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption:"
                                + " 0/3 nodes are available: 3 No preemption victims found.")));
  }

  private static V1Pod pod(int ordinal, String phase, String node) {
    return new V1Pod()
        .apiVersion("v1")
        .kind("Pod")
        .metadata(
            new V1ObjectMeta()
                .name(STATEFULSET + "-" + ordinal)
                .namespace(NAMESPACE)
                .resourceVersion(String.valueOf(100 + ordinal))
                .labels(
                    Map.of(
                        "app.kubernetes.io/component", "worker",
                        "app.kubernetes.io/instance", "ft",
                        "app.kubernetes.io/name", "lorafleet")))
        .spec(new V1PodSpec().nodeName(node))
        .status(new V1PodStatus().phase(phase));
  }

  /** A list of the worker pods (no watch) answers these. */
  void podsAre(String resourceVersion, V1Pod... pods) {
    V1PodList list =
        new V1PodList()
            .apiVersion("v1")
            .kind("PodList")
            .metadata(new V1ListMeta().resourceVersion(resourceVersion))
            .items(List.of(pods));
    server.stubFor(
        get(urlPathEqualTo(PODS_PATH))
            .withQueryParam("labelSelector", equalTo(SELECTOR))
            .withQueryParam("watch", absent())
            .willReturn(json(200, list)));
  }

  /**
   * A watch of the worker pods streams these events (one JSON object per line), then ends, as the
   * API server does when the watch's timeoutSeconds run out.
   */
  void watchStreams(WatchEvent... events) {
    String body =
        List.of(events).stream()
            .map(e -> "{\"type\":\"" + e.type() + "\",\"object\":" + JSON.serialize(e.pod()) + "}")
            .collect(Collectors.joining("\n", "", "\n"));
    server.stubFor(
        get(urlPathEqualTo(PODS_PATH))
            .withQueryParam("watch", equalTo("true"))
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody(body)));
  }

  record WatchEvent(String type, V1Pod pod) {}

  /** GET of one pod answers it. */
  void podIs(V1Pod pod) {
    server.stubFor(
        get(urlPathEqualTo(PODS_PATH + "/" + pod.getMetadata().getName()))
            .willReturn(json(200, pod)));
  }

  // --- refusals

  /** Every {@code method} request to {@code path} is answered with this HTTP status. */
  void refuses(String method, String path, int code, String reason, String message) {
    server.stubFor(
        request(method, urlPathEqualTo(path))
            .atPriority(1)
            .willReturn(status(code, reason, message)));
  }

  /** A watch of the worker pods is answered with this HTTP status. */
  void refusesWatch(int code, String reason, String message) {
    server.stubFor(
        get(urlPathEqualTo(PODS_PATH))
            .withQueryParam("watch", equalTo("true"))
            .atPriority(1)
            .willReturn(status(code, reason, message)));
  }

  /** What a 403 of the real API server says for a service account lacking a verb. */
  static String forbiddenMessage(String verb, String resource, String group) {
    return String.format(
        "statefulsets.apps \"%s\" is forbidden: User \"system:serviceaccount:%s:ft-lorafleet-coordinator\""
            + " cannot %s resource \"%s\" in API group \"%s\" in the namespace \"%s\"",
        STATEFULSET, NAMESPACE, verb, resource, group, NAMESPACE);
  }

  // --- what was asked

  /** One request as it arrived. */
  record Request(
      String method, String path, Map<String, String> query, String contentType, String body) {
    @Override
    public String toString() {
      return method + " " + path + (query.isEmpty() ? "" : "?" + query);
    }
  }

  /** Every request so far, oldest first. */
  List<Request> requests() {
    List<ServeEvent> events = new ArrayList<>(server.getAllServeEvents());
    java.util.Collections.reverse(events);
    return events.stream().map(e -> toRequest(e.getRequest())).toList();
  }

  private static Request toRequest(LoggedRequest logged) {
    URI uri = URI.create(logged.getUrl());
    Map<String, String> query = new java.util.TreeMap<>();
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        String key = eq < 0 ? pair : pair.substring(0, eq);
        String value = eq < 0 ? "" : pair.substring(eq + 1);
        query.put(
            java.net.URLDecoder.decode(key, java.nio.charset.StandardCharsets.UTF_8),
            java.net.URLDecoder.decode(value, java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return new Request(
        logged.getMethod().getName(),
        uri.getPath(),
        query,
        logged.getHeader("Content-Type"),
        logged.getBodyAsString());
  }

  private static ResponseDefinitionBuilder json(int code, Object body) {
    return aResponse()
        .withStatus(code)
        .withHeader("Content-Type", "application/json")
        .withBody(JSON.serialize(body));
  }

  private static ResponseDefinitionBuilder status(int code, String reason, String message) {
    V1Status status =
        new V1Status()
            .apiVersion("v1")
            .kind("Status")
            .status("Failure")
            .reason(reason)
            .message(message)
            .code(code);
    return json(code, status);
  }

  @Override
  public void close() {
    server.stop();
  }
}
