package dev.lorafleet.common.model;

/** A {@code config.json} lorafleet cannot build a model from; the message names file and field. */
public class ModelConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelConfigException(String message) {
    super(message);
  }

  public ModelConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
