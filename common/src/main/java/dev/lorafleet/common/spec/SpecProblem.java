package dev.lorafleet.common.spec;

import java.util.Objects;

/**
 * One thing wrong with a job spec: the field path ({@code lora.r}, {@code datasets[1].weight},
 * zero-based indices) and what is wrong with it. {@link #DOCUMENT} stands for the spec as a whole
 * (not YAML/JSON, too large, not a mapping).
 */
public record SpecProblem(String field, String message) {
  /** The field path of problems that concern the whole document rather than one field. */
  public static final String DOCUMENT = "(spec)";

  public SpecProblem {
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return field + ": " + message;
  }
}
