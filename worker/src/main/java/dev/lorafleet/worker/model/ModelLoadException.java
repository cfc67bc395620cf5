package dev.lorafleet.worker.model;

/** A model directory whose weights do not fit its config; the message names tensor and file. */
public class ModelLoadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelLoadException(String message) {
    super(message);
  }
}
