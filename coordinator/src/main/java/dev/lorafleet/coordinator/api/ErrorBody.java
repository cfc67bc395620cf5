package dev.lorafleet.coordinator.api;

import dev.lorafleet.common.spec.SpecProblem;
import java.util.List;

/**
 * Every error the API answers: {@code {"errors":[{"field":…,"message":…}], "requestId":…}}. {@code
 * field} is a spec field path for a bad spec, or what the error concerns ({@code id}, {@code body},
 * {@code Authorization}, {@code path}); {@code requestId} matches the coordinator's log and the
 * {@code X-Request-Id} header.
 */
public record ErrorBody(List<SpecProblem> errors, String requestId) {
  public ErrorBody {
    errors = List.copyOf(errors);
  }

  public static ErrorBody of(String field, String message, String requestId) {
    return new ErrorBody(List.of(new SpecProblem(field, message)), requestId);
  }
}
