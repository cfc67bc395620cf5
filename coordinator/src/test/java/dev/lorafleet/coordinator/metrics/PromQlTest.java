package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PromQlTest {

  @Test
  void findsMetricNamesButNotFunctionsLabelsKeywordsOrNumbers() {
    String expr =
        "sum by (phase) (rate(lorafleet_step_seconds_sum{job=~\"$job\"}[$__rate_interval]))"
            + " / sum by (phase) (rate(lorafleet_step_seconds_count{job=~\"$job\"}[5m] offset 1h))"
            + " > 2e-4 * on (job) group_left () lorafleet:budget and bool up";

    assertThat(PromQl.metricNames(expr))
        .containsExactly(
            "lorafleet_step_seconds_sum", "lorafleet_step_seconds_count", "lorafleet:budget", "up");
  }

  @Test
  void readsTheMetricOfAGrafanaLabelValuesQuery() {
    assertThat(PromQl.metricNames("label_values(lorafleet_step, job)"))
        .containsExactly("lorafleet_step");
  }

  @Test
  void keepsTheMatchersOfEachSelector() {
    assertThat(
            PromQl.selectors(
                "(increase(lorafleet_workers_lost_total[15m]) > 0)"
                    + " or (lorafleet_workers{state=\"unreachable\"} > 0)"))
        .containsExactly(
            "lorafleet_workers_lost_total", "lorafleet_workers{state=\"unreachable\"}");
  }
}
