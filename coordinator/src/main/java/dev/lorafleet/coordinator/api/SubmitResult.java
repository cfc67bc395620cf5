package dev.lorafleet.coordinator.api;

import dev.lorafleet.common.spec.SpecProblem;
import java.util.List;

/** What submitting a spec led to: a queued job, or the problems that kept it out. */
public sealed interface SubmitResult {
  /** The job was queued (201). */
  record Accepted(JobView job) implements SubmitResult {}

  /** The job was refused before anything started (400), every problem by field path. */
  record Rejected(List<SpecProblem> problems) implements SubmitResult {
    public Rejected {
      if (problems.isEmpty()) {
        throw new IllegalArgumentException("a rejection needs at least one problem");
      }
      problems = List.copyOf(problems);
    }
  }
}
