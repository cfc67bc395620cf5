package dev.lorafleet.common.lora;

/** An adapter directory that is not a PEFT LoRA adapter lorafleet can use with this model. */
public class PeftFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PeftFormatException(String message) {
    super(message);
  }

  public PeftFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
