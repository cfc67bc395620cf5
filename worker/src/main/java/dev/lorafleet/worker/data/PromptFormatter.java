package dev.lorafleet.worker.data;

/** Renders a dataset record as training text and says which characters carry loss. */
public interface PromptFormatter {
  /**
   * @throws TemplateRenderException when the template refuses the record (for example a template
   *     that calls {@code raise_exception} on roles out of order)
   */
  RenderedText render(DatasetRecord record);

  /** Whether the tokenizer should add its own special tokens (BOS) around the rendered text. */
  boolean addSpecialTokens();

  /** A few words for logs: which template is in use. */
  String describe();
}
