package dev.lorafleet.coordinator.lease;

/**
 * A coordinator could not start because another one holds the lease (and did not let go within the
 * wait allowed). The message names the holder and what to do.
 */
public final class LeaseHeldException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public LeaseHeldException(String message) {
    super(message);
  }
}
