package dev.lorafleet.coordinator.lease;

/** The lease is no longer this coordinator's: another took it over, or it ran out. */
public final class LeaseLostException extends Exception {
  private static final long serialVersionUID = 1L;

  public LeaseLostException(String message) {
    super(message);
  }
}
