package dev.lorafleet.coordinator.api;

/**
 * A {@link JobService} call that cannot be done, for a reason the caller can act on. Complete the
 * returned stage exceptionally with one; the API turns {@link Kind} into the HTTP status. Any other
 * exception becomes a 500 that names the request id (and is logged with its stack trace).
 */
public final class JobServiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the call failed. */
  public enum Kind {
    /** The request asks for something impossible (e.g. a negative replica count): 400. */
    INVALID(400),
    /** No such job: 404. */
    NOT_FOUND(404),
    /** Not in this state (e.g. cancelling a job that already finished, if refused): 409. */
    CONFLICT(409),
    /** Not available here (no Kubernetes to scale, shutting down): 503. */
    UNAVAILABLE(503);

    private final int status;

    Kind(int status) {
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private final Kind kind;
  private final String field;

  /**
   * @param field what the problem concerns as the error JSON's {@code field} (e.g. {@code id},
   *     {@code replicas}); null when nothing in particular
   */
  public JobServiceException(Kind kind, String field, String message) {
    super(message, null, false, false);
    this.kind = kind;
    this.field = field;
  }

  public static JobServiceException notFound(String jobId) {
    return new JobServiceException(Kind.NOT_FOUND, "id", "no job with id '" + jobId + "'");
  }

  public Kind kind() {
    return kind;
  }

  public String field() {
    return field;
  }
}
