package dev.lorafleet.coordinator.k8s;

/**
 * Scaling or watching did not work: the reason, and a message that says what failed, where, and
 * what to do about it.
 */
public record ScalerFailure(Reason reason, String message) implements ScaleResult, ReadinessResult {

  /** Why, for callers that react differently (e.g. an HTTP status). */
  public enum Reason {
    /** Scaling is off (outside Kubernetes or switched off). */
    DISABLED,
    /** RBAC: the service account lacks a verb on a resource (HTTP 403). */
    FORBIDDEN,
    /** The API refused the credentials (HTTP 401). */
    UNAUTHORIZED,
    /** The StatefulSet does not exist (HTTP 404). */
    NOT_FOUND,
    /** The request itself is wrong (negative replicas, HTTP 400/422). */
    INVALID,
    /** The API did not answer, or kept answering 409/429/5xx, within the retry budget. */
    UNAVAILABLE,
    /** The calling thread was interrupted. */
    INTERRUPTED
  }
}
