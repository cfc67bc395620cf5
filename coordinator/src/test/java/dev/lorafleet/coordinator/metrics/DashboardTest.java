package dev.lorafleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorafleet.worker.metrics.Scrape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DashboardTest {

  private static JsonNode dashboard;
  private static List<Scrape.Sample> exported;
  private static Set<String> exportedNames;

  @BeforeAll
  static void load() throws Exception {
    dashboard = DeployFiles.json(DeployFiles.dashboard());
    exported = ExportedMetrics.exerciseAndScrape();
    exportedNames = ExportedMetrics.names(exported);
  }

  @Test
  void everyQueryReadsOnlyMetricsTheCodeExportsOrTheRulesRecord() {
    Set<String> recorded = DeployFiles.recordedNames(DeployFiles.yaml(DeployFiles.alerts()));
    List<String> unknown = new ArrayList<>();
    DeployFiles.dashboardQueries(dashboard)
        .forEach(
            (where, expr) -> {
              assertThat(expr).as(where).isNotBlank();
              for (String name : PromQl.metricNames(expr)) {
                if (!exportedNames.contains(name) && !recorded.contains(name)) {
                  unknown.add(where + ": " + name);
                }
              }
            });
    assertThat(unknown).as("dashboard queries naming metrics nobody exports").isEmpty();
  }

  @Test
  void showsEverythingAPersonWatchingARunAsksFor() {
    Set<String> used = new TreeSet<>();
    DeployFiles.dashboardQueries(dashboard)
        .values()
        .forEach(e -> used.addAll(PromQl.metricNames(e)));

    assertThat(used)
        .contains(
            "lorafleet_train_loss",
            "lorafleet_eval_loss",
            "lorafleet_tokens_per_second",
            "lorafleet_step_seconds_sum",
            "lorafleet_workers",
            "lorafleet_devices",
            "lorafleet_cost_total",
            "lorafleet_projected_cost",
            "lorafleet_eta_seconds",
            "lorafleet_epoch",
            "lorafleet_step",
            "lorafleet_total_steps",
            "lorafleet_checkpoint_last_success_timestamp_seconds",
            "lorafleet_skipped_steps_total",
            "lorafleet_transport_dropped_frames_total",
            "lorafleet_worker_device_memory_used_bytes",
            "lorafleet_worker_device_memory_total_bytes");
  }

  @Test
  void scopesEveryPerJobSeriesToTheJobVariable() {
    Set<String> perJob = new TreeSet<>();
    exported.stream().filter(s -> s.labels().containsKey("job")).forEach(s -> perJob.add(s.name()));
    List<String> unscoped = new ArrayList<>();
    DeployFiles.dashboardQueries(dashboard)
        .forEach(
            (where, expr) -> {
              if (where.startsWith("variable ")) {
                return;
              }
              for (String selector : PromQl.selectors(expr)) {
                String name = selector.replaceAll("\\{.*", "");
                if (perJob.contains(name) && !selector.contains("job=~\"$job\"")) {
                  unscoped.add(where + ": " + selector);
                }
              }
            });
    assertThat(unscoped).as("per-job selectors without job=~\"$job\"").isEmpty();
  }

  @Test
  void hasAJobVariableAndTakesItsDataSourceFromAVariable() {
    Map<String, JsonNode> variables = new java.util.HashMap<>();
    dashboard
        .path("templating")
        .path("list")
        .forEach(v -> variables.put(v.path("name").asText(), v));

    assertThat(variables).containsKeys("datasource", "job");
    assertThat(variables.get("datasource").path("type").asText()).isEqualTo("datasource");
    assertThat(variables.get("datasource").path("query").asText()).isEqualTo("prometheus");
    assertThat(variables.get("job").path("includeAll").asBoolean()).isTrue();
    for (JsonNode panel : DeployFiles.panels(dashboard)) {
      if (panel.path("type").asText().equals("row")) {
        continue;
      }
      String title = panel.path("title").asText();
      assertThat(panel.path("datasource").path("uid").asText())
          .as(title)
          .isEqualTo("${datasource}");
      assertThat(panel.path("targets").size()).as(title).isPositive();
      panel
          .path("targets")
          .forEach(
              t ->
                  assertThat(t.path("datasource").path("uid").asText())
                      .as(title)
                      .isEqualTo("${datasource}"));
    }
  }

  @Test
  void laysPanelsOutWithoutOverlapInsideTheGrid() {
    List<int[]> boxes = new ArrayList<>();
    List<String> titles = new ArrayList<>();
    for (JsonNode panel : DeployFiles.panels(dashboard)) {
      JsonNode g = panel.path("gridPos");
      int[] box = {
        g.path("x").asInt(), g.path("y").asInt(), g.path("w").asInt(), g.path("h").asInt()
      };
      String title = panel.path("title").asText();
      assertThat(box[0] + box[2]).as(title + " fits in 24 columns").isLessThanOrEqualTo(24);
      assertThat(box[2] * box[3]).as(title + " has a size").isPositive();
      for (int i = 0; i < boxes.size(); i++) {
        int[] o = boxes.get(i);
        boolean overlap =
            box[0] < o[0] + o[2]
                && o[0] < box[0] + box[2]
                && box[1] < o[1] + o[3]
                && o[1] < box[1] + box[3];
        assertThat(overlap).as(title + " overlaps " + titles.get(i)).isFalse();
      }
      boxes.add(box);
      titles.add(title);
    }
  }

  @Test
  void hasUniquePanelIds() {
    Set<Integer> ids = new java.util.HashSet<>();
    for (JsonNode panel : DeployFiles.panels(dashboard)) {
      assertThat(ids.add(panel.path("id").asInt())).as("panel id " + panel.path("id")).isTrue();
    }
  }
}
