package dev.lorafleet.worker.data;

import java.util.List;

/**
 * A record rendered as the model's text, with the character ranges that carry loss (the responses
 * and their end-of-turn markers).
 *
 * @param text the whole text, as the model will see it
 * @param trained half-open {@code [start, end)} ranges of {@code text}, in order, not overlapping
 */
public record RenderedText(String text, List<Span> trained) {
  /** A half-open range of characters (UTF-16 indices into the text). */
  public record Span(int start, int end) {
    public Span {
      if (start < 0 || end < start) {
        throw new IllegalArgumentException("bad span [" + start + ", " + end + ")");
      }
    }

    public boolean contains(int index) {
      return index >= start && index < end;
    }
  }

  public RenderedText {
    trained = List.copyOf(trained);
  }

  /** The trained parts joined, for tests and logs. */
  public String trainedText() {
    StringBuilder sb = new StringBuilder();
    for (Span s : trained) {
      sb.append(text, s.start(), s.end());
    }
    return sb.toString();
  }
}
