package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobView;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The per-epoch report as a text table: time, throughput, GPU-hours, cost and losses. */
final class ReportTable {
  private ReportTable() {}

  static String render(JobView job) {
    Set<String> evalNames = new LinkedHashSet<>();
    job.epochs().forEach(e -> evalNames.addAll(e.evalLoss().keySet()));
    List<String> header =
        new ArrayList<>(
            List.of(
                "epoch",
                "samples",
                "tokens",
                "time",
                "tokens/s",
                "GPU-h",
                "cost " + job.currency(),
                "train loss"));
    evalNames.forEach(n -> header.add("eval " + n));
    List<List<String>> rows = new ArrayList<>();
    double totalHours = 0;
    double totalCost = 0;
    double totalSeconds = 0;
    long totalSamples = 0;
    long totalTokens = 0;
    for (EpochReport e : job.epochs()) {
      List<String> row = new ArrayList<>();
      row.add(Integer.toString(e.epoch()));
      row.add(Long.toString(e.samples()));
      row.add(Long.toString(e.tokens()));
      row.add(seconds(e.seconds()));
      row.add(String.format(Locale.ROOT, "%.0f", e.tokensPerSecond()));
      row.add(String.format(Locale.ROOT, "%.6f", e.gpuHours()));
      row.add(String.format(Locale.ROOT, "%.6f", e.cost()));
      row.add(loss(e.trainLoss()));
      for (String n : evalNames) {
        row.add(loss(e.evalLoss().get(n)));
      }
      rows.add(row);
      totalHours += e.gpuHours();
      totalCost += e.cost();
      totalSeconds += e.seconds();
      totalSamples += e.samples();
      totalTokens += e.tokens();
    }
    List<String> total = new ArrayList<>();
    total.add("total");
    total.add(Long.toString(totalSamples));
    total.add(Long.toString(totalTokens));
    total.add(seconds(totalSeconds));
    total.add(
        totalSeconds > 0 ? String.format(Locale.ROOT, "%.0f", totalTokens / totalSeconds) : "-");
    total.add(String.format(Locale.ROOT, "%.6f", totalHours));
    total.add(String.format(Locale.ROOT, "%.6f", job.cost() == null ? totalCost : job.cost()));
    total.add("");
    evalNames.forEach(n -> total.add(""));
    rows.add(total);

    int[] widths = new int[header.size()];
    for (int c = 0; c < widths.length; c++) {
      widths[c] = header.get(c).length();
      for (List<String> row : rows) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    StringBuilder out = new StringBuilder();
    appendRow(out, header, widths);
    StringBuilder rule = new StringBuilder();
    for (int w : widths) {
      rule.append("-".repeat(w)).append("  ");
    }
    out.append(rule.toString().stripTrailing()).append('\n');
    for (int i = 0; i < rows.size(); i++) {
      if (i == rows.size() - 1) {
        out.append(rule.toString().stripTrailing()).append('\n');
      }
      appendRow(out, rows.get(i), widths);
    }
    return out.toString();
  }

  private static void appendRow(StringBuilder out, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int c = 0; c < cells.size(); c++) {
      String cell = cells.get(c);
      line.append(" ".repeat(widths[c] - cell.length())).append(cell).append("  ");
    }
    out.append(line.toString().stripTrailing()).append('\n');
  }

  private static String loss(Double value) {
    return value == null ? "-" : String.format(Locale.ROOT, "%.4f", value);
  }

  static String seconds(double s) {
    if (s < 60) {
      return String.format(Locale.ROOT, "%.1fs", s);
    }
    long total = Math.round(s);
    return total >= 3600
        ? String.format(Locale.ROOT, "%dh%02dm%02ds", total / 3600, total / 60 % 60, total % 60)
        : String.format(Locale.ROOT, "%dm%02ds", total / 60, total % 60);
  }
}
