package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AlertRulesTest {

  private static JsonNode rules;
  private static Set<String> exportedNames;

  @BeforeAll
  static void load() throws Exception {
    rules = DeployFiles.yaml(DeployFiles.alerts());
    exportedNames = ExportedMetrics.names(ExportedMetrics.exerciseAndScrape());
  }

  @Test
  void alertsOnStallsLossWorkersCheckpointsAndBudget() {
    assertThat(DeployFiles.alertNames(rules))
        .contains(
            "LorafleetJobStalled",
            "LorafleetLossNotFinite",
            "LorafleetLossExploding",
            "LorafleetWorkerLost",
            "LorafleetCheckpointStale",
            "LorafleetProjectedCostOverBudget");
  }

  @Test
  void everyRuleReadsOnlyMetricsTheCodeExportsOrTheRulesRecord() {
    Set<String> recorded = DeployFiles.recordedNames(rules);
    List<String> unknown = new ArrayList<>();
    DeployFiles.ruleExpressions(rules)
        .forEach(
            (rule, expr) -> {
              for (String name : PromQl.metricNames(expr)) {
                // "up" is Prometheus's own, for every target
                if (!exportedNames.contains(name)
                    && !recorded.contains(name)
                    && !name.equals("up")) {
                  unknown.add(rule + ": " + name);
                }
              }
            });
    assertThat(unknown).as("rules naming metrics nobody exports").isEmpty();
  }

  @Test
  void promtoolAcceptsTheRules() throws Exception {
    assertThat(promtool("check", "rules", DeployFiles.alerts().toString())).contains("SUCCESS");
  }

  @Test
  void promtoolAcceptsTheScrapeConfigAndItsRuleFile() throws Exception {
    assertThat(promtool("check", "config", DeployFiles.prometheusConfig().toString()))
        .contains("SUCCESS: 1 rule files found");
  }

  @Test
  void alertsFireExactlyWhenTheirUnitTestsSay() throws Exception {
    // deploy/prometheus/alerts_test.yaml: synthetic series per alert, firing and quiet cases
    assertThat(promtool("test", "rules", DeployFiles.alertTests().toString())).contains("SUCCESS");
  }

  private static String promtool(String... args) throws Exception {
    Optional<Path> promtool = DeployFiles.onPath("promtool");
    assumeTrue(
        promtool.isPresent(),
        "promtool is not installed (apt-get install prometheus; .ci/run installs it)");
    List<String> command = new ArrayList<>();
    command.add(promtool.get().toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    boolean done = p.waitFor(60, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
      throw new AssertionError("promtool " + String.join(" ", args) + " did not finish in 60 s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("promtool " + String.join(" ", args) + ":\n" + out).isZero();
    return out;
  }
}
