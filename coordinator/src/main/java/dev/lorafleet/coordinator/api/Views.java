package dev.lorafleet.coordinator.api;

/** Small helpers shared by the API's view records. */
final class Views {
  private Views() {}

  /** JSON has no NaN or infinity: a value that is not finite is shown as null (unknown). */
  static Double finiteOrNull(Double value) {
    return value == null || !Double.isFinite(value) ? null : value;
  }
}
