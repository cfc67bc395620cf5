package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checks both observability ITs make with the real Prometheus server against a running job:
 * every dashboard query and every selector of every alert returns data, the stall alert is quiet
 * while the job makes steps, and fires once it stops.
 */
final class ObservedRun {

  /** Dashboard queries need a few scrapes (1 s apart) inside their rate windows. */
  private static final String RATE_WINDOW = "10s";

  private ObservedRun() {}

  /**
   * Starts Prometheus (in {@code work}) scraping the targets every second with alerts.yaml made
   * fast ({@code stallSeconds} without a step is a stall), checks every query and alert input, then
   * calls {@code stall} and waits for LorafleetJobStalled to fire for {@code jobId}.
   *
   * @param dataWithin how long the job may take to produce every series (an epoch end with eval and
   *     a checkpoint included)
   */
  static void verify(
      Path prometheusBinary,
      Path work,
      String coordinatorTarget,
      List<String> workerTargets,
      String jobId,
      Runnable stall,
      int stallSeconds,
      Duration dataWithin)
      throws Exception {
    Files.createDirectories(work);
    Files.writeString(
        work.resolve("alerts.yaml"),
        fastRules(Files.readString(DeployFiles.alerts()), stallSeconds));
    Path config = work.resolve("prometheus.yaml");
    Files.writeString(config, scrapeConfig(coordinatorTarget, workerTargets));

    try (PrometheusServer prometheus = PrometheusServer.start(prometheusBinary, config, work)) {
      awaitTargetsUp(prometheus, 1 + workerTargets.size());

      Map<String, String> queries = new LinkedHashMap<>();
      DeployFiles.dashboardQueries(DeployFiles.json(DeployFiles.dashboard()))
          .forEach((where, expr) -> queries.put("dashboard " + where, dashboardToPromQl(expr)));
      DeployFiles.ruleExpressions(DeployFiles.yaml(DeployFiles.alerts()))
          .forEach(
              (rule, expr) -> {
                // the expression must be valid PromQL; it returns data only when the alert fires
                prometheus.query(expr);
                PromQl.selectors(expr)
                    .forEach(sel -> queries.put("rule " + rule + ": " + sel, sel));
              });
      awaitEveryQueryHasData(prometheus, queries, dataWithin);

      assertThat(firing(prometheus, "LorafleetJobStalled"))
          .as("no stall while the job makes steps")
          .isEmpty();

      stall.run();

      await("LorafleetJobStalled fires for " + jobId)
          .atMost(Duration.ofSeconds(stallSeconds + 40L))
          .pollInterval(Duration.ofMillis(500))
          .untilAsserted(
              () ->
                  assertThat(firing(prometheus, "LorafleetJobStalled"))
                      .as("firing alerts; targets " + prometheus.targets())
                      .anySatisfy(
                          a -> assertThat(a.path("labels").path("job").asText()).isEqualTo(jobId)));
    }
  }

  /**
   * alerts.yaml with test-sized patience: every {@code for:} becomes 1 s and the stall threshold
   * {@code stallSeconds}. Fails if the stall expression no longer has the shape this substitution
   * expects.
   */
  static String fastRules(String alerts, int stallSeconds) {
    Matcher stall =
        Pattern.compile("(time\\(\\) - lorafleet_last_progress_timestamp_seconds > )\\d+")
            .matcher(alerts);
    assertThat(stall.find()).as("stall threshold in alerts.yaml").isTrue();
    String fast = stall.replaceFirst("$1" + stallSeconds);
    return fast.replaceAll("(?m)^(\\s+for: )\\S+$", "$11s");
  }

  static String scrapeConfig(String coordinator, List<String> workers) {
    return """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - alerts.yaml
        scrape_configs:
          - job_name: lorafleet-coordinator
            honor_labels: true
            static_configs:
              - targets: ["%s"]
          - job_name: lorafleet-workers
            honor_labels: true
            static_configs:
              - targets: [%s]
        """
        .formatted(
            coordinator, String.join(", ", workers.stream().map(w -> "\"" + w + "\"").toList()));
  }

  /** Grafana's variables as Prometheus would see them for this test's single job. */
  static String dashboardToPromQl(String expr) {
    Matcher labelValues =
        Pattern.compile(
                "^\\s*label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*(\\w+)\\s*\\)\\s*$")
            .matcher(expr);
    if (labelValues.matches()) {
      return "count by (" + labelValues.group(2) + ") (" + labelValues.group(1) + ")";
    }
    return expr.replace("$__rate_interval", RATE_WINDOW)
        .replace("$__interval", "1s")
        .replace("$job", ".+");
  }

  private static void awaitTargetsUp(PrometheusServer prometheus, int count) {
    await("all " + count + " targets up")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () ->
                assertThat(prometheus.query("up == 1"))
                    .as("targets " + prometheus.targets())
                    .hasSize(count));
  }

  private static void awaitEveryQueryHasData(
      PrometheusServer prometheus, Map<String, String> queries, Duration within) {
    List<String> empty = new ArrayList<>(queries.keySet());
    try {
      await("every dashboard query and alert selector returns data")
          .atMost(within)
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                empty.removeIf(where -> prometheus.query(queries.get(where)).size() > 0);
                return empty.isEmpty();
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      List<String> detail = new ArrayList<>();
      empty.forEach(where -> detail.add(where + "  =>  " + queries.get(where)));
      throw new AssertionError(
          "no data after "
              + within.toSeconds()
              + " s for:\n  "
              + String.join("\n  ", detail)
              + "\ntargets: "
              + prometheus.targets(),
          e);
    }
  }

  private static List<JsonNode> firing(PrometheusServer prometheus, String alert) {
    return prometheus.alerts().stream()
        .filter(a -> a.path("labels").path("alertname").asText().equals(alert))
        .filter(a -> a.path("state").asText().equals("firing"))
        .toList();
  }
}
