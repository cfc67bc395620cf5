package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.EpochReport;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The per-epoch report as a table (epoch, samples, tokens, time, tokens/s, GPU-hours, cost, train
 * loss, one column per eval set), printed at the end of {@code submit --wait}, {@code run} and
 * {@code demo} and by {@code status JOB_ID}.
 */
public final class EpochTable {
  private EpochTable() {}

  public static String render(List<EpochReport> epochs, String currency) {
    Set<String> evalNames = new LinkedHashSet<>();
    for (EpochReport epoch : epochs) {
      evalNames.addAll(epoch.evalLoss().keySet());
    }
    List<String> header =
        new ArrayList<>(
            List.of(
                ">epoch",
                ">samples",
                ">tokens",
                ">time",
                ">tokens/s",
                ">GPU-h",
                ">cost" + (currency == null ? "" : " (" + currency + ")"),
                ">train loss"));
    for (String name : evalNames) {
      header.add(">eval " + name);
    }
    header.add(">workers");
    header.add(">skipped");
    TextTable table = new TextTable(header);
    for (EpochReport epoch : epochs) {
      List<String> row =
          new ArrayList<>(
              List.of(
                  Integer.toString(epoch.epoch()),
                  String.format(Locale.ROOT, "%,d", epoch.samples()),
                  String.format(Locale.ROOT, "%,d", epoch.tokens()),
                  ProgressPrinter.duration(epoch.seconds()),
                  String.format(Locale.ROOT, "%,.0f", epoch.tokensPerSecond()),
                  String.format(Locale.ROOT, "%.3f", epoch.gpuHours()),
                  ProgressPrinter.money(epoch.cost()),
                  loss(epoch.trainLoss())));
      for (String name : evalNames) {
        row.add(loss(epoch.evalLoss().get(name)));
      }
      row.add(Integer.toString(epoch.workers()));
      row.add(Long.toString(epoch.skippedSteps()));
      table.row(row);
    }
    return table.render();
  }

  private static String loss(Double loss) {
    return loss == null ? "-" : String.format(Locale.ROOT, "%.4f", loss);
  }
}
