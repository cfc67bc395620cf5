package dev.lorafleet.coordinator.k8s;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.ApiException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * Turns the API server's refusals into a reason and a sentence that says what was refused, where,
 * and what to do: a 403 names the RBAC verb and resource the Role lacks, a 404 the StatefulSet and
 * namespace it looked for.
 */
final class ApiErrors {

  /**
   * One API request in RBAC's terms.
   *
   * @param verb get, list, watch, patch
   * @param group the API group ("" for the core group)
   * @param resource the resource, with its subresource ("statefulsets/scale")
   * @param name the object's name, or null for a collection
   */
  record Access(String verb, String group, String resource, String name) {
    String describe() {
      return verb + " " + resource + (name == null ? "" : " \"" + name + "\"");
    }
  }

  private ApiErrors() {}

  /** Worth another attempt: no answer, a conflict, throttling, or a server error. */
  static boolean retryable(ApiException e) {
    int code = e.getCode();
    return code == 0 || code == 409 || code == 429 || code >= 500;
  }

  static ScalerFailure.Reason reason(ApiException e) {
    return switch (e.getCode()) {
      case 401 -> ScalerFailure.Reason.UNAUTHORIZED;
      case 403 -> ScalerFailure.Reason.FORBIDDEN;
      case 404 -> ScalerFailure.Reason.NOT_FOUND;
      case 400, 422 -> ScalerFailure.Reason.INVALID;
      default -> ScalerFailure.Reason.UNAVAILABLE;
    };
  }

  static ScalerFailure failure(
      Access access, ApiException e, String namespace, String apiServer, Duration timeout) {
    return new ScalerFailure(reason(e), describe(access, e, namespace, apiServer, timeout));
  }

  static String describe(
      Access access, ApiException e, String namespace, String apiServer, Duration timeout) {
    String said = statusMessage(e);
    String kubernetesSaid = said == null ? "" : " Kubernetes said: " + said;
    String where = " in namespace \"" + namespace + "\"";
    return switch (e.getCode()) {
      case 0 ->
          "the Kubernetes API at "
              + apiServer
              + " did not answer "
              + access.describe()
              + where
              + ": "
              + transportProblem(e, timeout);
      case 401 ->
          "the Kubernetes API refused the coordinator's credentials (HTTP 401) for "
              + access.describe()
              + where
              + "; check that the pod mounts its service account token"
              + " (automountServiceAccountToken) or that the kubeconfig is valid."
              + kubernetesSaid;
      case 403 ->
          "the coordinator's service account may not "
              + access.describe()
              + where
              + " (HTTP 403 Forbidden). Its Role needs verb \""
              + access.verb()
              + "\" on resource \""
              + access.resource()
              + "\" in API group \""
              + access.group()
              + "\""
              + (access.name() == null ? "" : " for resourceNames [\"" + access.name() + "\"]")
              + "; the Helm chart's Role grants it (rbac.create=true, scaling.enabled=true)."
              + kubernetesSaid;
      case 404 ->
          access.resource().startsWith("statefulsets")
              ? "StatefulSet \""
                  + access.name()
                  + "\" not found"
                  + where
                  + " (HTTP 404). Set "
                  + KubernetesSettings.STATEFULSET
                  + " to the worker StatefulSet's name and "
                  + KubernetesSettings.NAMESPACE
                  + " to its namespace (the Helm chart sets both)."
              : access.describe() + where + " found nothing (HTTP 404)." + kubernetesSaid;
      case 409 ->
          access.describe()
              + where
              + " conflicted with another change to the same object (HTTP 409)."
              + kubernetesSaid;
      case 400, 422 ->
          "the Kubernetes API refused to "
              + access.describe()
              + where
              + " (HTTP "
              + e.getCode()
              + ")."
              + kubernetesSaid;
      default ->
          "the Kubernetes API answered HTTP "
              + e.getCode()
              + " to "
              + access.describe()
              + where
              + "."
              + kubernetesSaid;
    };
  }

  private static String transportProblem(ApiException e, Duration timeout) {
    for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
      if (cause instanceof SocketTimeoutException) {
        return "no answer within " + Durations.format(timeout);
      }
      if (cause instanceof ConnectException) {
        return "connection refused";
      }
      if (cause instanceof UnknownHostException) {
        return "unknown host " + cause.getMessage();
      }
    }
    Throwable root = e.getCause() == null ? e : e.getCause();
    return root.getClass().getSimpleName()
        + (root.getMessage() == null ? "" : " (" + root.getMessage() + ")");
  }

  /** The {@code message} of the Status object the API server sends with an error, if any. */
  static String statusMessage(ApiException e) {
    String body = e.getResponseBody();
    if (body == null || body.isBlank()) {
      return null;
    }
    try {
      JsonElement json = JsonParser.parseString(body);
      if (json.isJsonObject()) {
        JsonObject status = json.getAsJsonObject();
        if (status.has("message") && status.get("message").isJsonPrimitive()) {
          return status.get("message").getAsString();
        }
      }
    } catch (RuntimeException notJson) {
      // a proxy's HTML error page, say: show its start
    }
    return body.length() > 200 ? body.substring(0, 200) + "..." : body;
  }
}
