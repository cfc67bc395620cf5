package dev.lorafleet.worker.data;

/** A chat template refused a conversation or failed while rendering it. */
public class TemplateRenderException extends DatasetException {
  public TemplateRenderException(String message) {
    super(message);
  }

  public TemplateRenderException(String message, Throwable cause) {
    super(message, cause);
  }
}
