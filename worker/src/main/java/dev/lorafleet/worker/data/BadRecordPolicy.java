package dev.lorafleet.worker.data;

import java.util.Locale;

/** What to do with a dataset line that cannot be used: stop the job, or skip it and count it. */
public enum BadRecordPolicy {
  FAIL,
  SKIP;

  /** Parses the job spec's {@code onBadRecord} value ({@code fail} or {@code skip}). */
  public static BadRecordPolicy parse(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "fail" -> FAIL;
      case "skip" -> SKIP;
      default ->
          throw new IllegalArgumentException(
              "onBadRecord must be 'fail' or 'skip', not '" + value + "'");
    };
  }
}
