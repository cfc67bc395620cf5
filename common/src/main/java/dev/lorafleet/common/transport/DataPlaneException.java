package dev.lorafleet.common.transport;

/**
 * The data plane could not do what was asked: a peer never connected or stayed back-pressured past
 * the deadline, a publication could not be replaced, the media driver failed. The message says
 * which job, step and endpoint.
 */
public final class DataPlaneException extends RuntimeException {
  public DataPlaneException(String message) {
    super(message);
  }

  public DataPlaneException(String message, Throwable cause) {
    super(message, cause);
  }
}
