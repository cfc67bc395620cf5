package dev.lorafleet.worker.data;

/** A dataset, tokenizer or chat template that cannot be used; the message says what and where. */
public class DatasetException extends RuntimeException {
  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
