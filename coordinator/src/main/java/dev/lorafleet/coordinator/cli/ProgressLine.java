package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;
import java.util.Locale;

/** One status line per change: state, step/total with a bar, loss, tokens/s, ETA, cost. */
final class ProgressLine {
  private final PrintWriter out;
  private final boolean terminal = System.console() != null;
  private String last = "";

  ProgressLine(PrintWriter out) {
    this.out = out;
  }

  void show(JobView v) {
    String line;
    if (v.totalSteps() > 0) {
      int width = 20;
      int filled = (int) (width * v.step() / Math.max(1, v.totalSteps()));
      line =
          String.format(
              Locale.ROOT,
              "%s [%s%s] step %d/%d epoch %d loss %s %s tok/s ETA %s cost %.4f/%.4f %s",
              v.state(),
              "#".repeat(filled),
              ".".repeat(width - filled),
              v.step(),
              v.totalSteps(),
              v.epoch(),
              v.loss() == null ? "-" : String.format(Locale.ROOT, "%.4f", v.loss()),
              v.tokensPerSecond() == null
                  ? "-"
                  : String.format(Locale.ROOT, "%.0f", v.tokensPerSecond()),
              v.etaSeconds() == null ? "-" : ReportTable.seconds(v.etaSeconds()),
              v.cost() == null ? 0.0 : v.cost(),
              v.projectedCost() == null ? 0.0 : v.projectedCost(),
              v.currency());
    } else {
      line = v.state().toString();
    }
    if (line.equals(last)) {
      return;
    }
    last = line;
    if (terminal) {
      out.print("\r" + line + "   ");
    } else {
      out.println(line);
    }
    out.flush();
  }
}
