package dev.lorafleet.common.spec;

import java.util.List;

/** A job spec that cannot run, with every problem found (not only the first). */
public final class InvalidSpecException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient List<SpecProblem> problems;

  public InvalidSpecException(String source, List<SpecProblem> problems) {
    super(describe(source, problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("an invalid spec needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  /** Every problem, in the order of the fields in the spec. */
  public List<SpecProblem> problems() {
    return problems;
  }

  private static String describe(String source, List<SpecProblem> problems) {
    StringBuilder text = new StringBuilder("invalid job spec");
    if (source != null && !source.isBlank()) {
      text.append(' ').append(source);
    }
    text.append(problems.size() == 1 ? " (1 problem):" : " (" + problems.size() + " problems):");
    for (SpecProblem problem : problems) {
      text.append(System.lineSeparator()).append("  ").append(problem);
    }
    return text.toString();
  }
}
