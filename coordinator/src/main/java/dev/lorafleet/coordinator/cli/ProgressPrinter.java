package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Shows a running job's progress: on a terminal one live line redrawn in place (a bar, epoch,
 * step/total, loss, tokens/s, ETA, cost so far and projected); otherwise (a log file, CI) plain
 * lines, one whenever the state or the epoch changes and at most one per interval in between. Used
 * by {@code submit --wait}, {@code run} and {@code demo}: call {@link #update} with each new view
 * of the job, then {@link #finish} with the last.
 */
public final class ProgressPrinter {
  /** Log lines between state and epoch changes come at most this often. */
  public static final long DEFAULT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private static final int BAR_WIDTH = 24;

  private final PrintWriter out;
  private final boolean live;
  private final long logIntervalNanos;
  private final LongSupplier nanoClock;

  private JobState lastState;
  private int lastEpoch = -1;
  private long lastStep = -1;
  private long lastLogNanos;
  private int liveLineLength;

  public ProgressPrinter(
      PrintWriter out, boolean live, long logIntervalNanos, LongSupplier nanoClock) {
    this.out = out;
    this.live = live;
    this.logIntervalNanos = logIntervalNanos;
    this.nanoClock = nanoClock;
  }

  /** A live line when this process writes to a terminal, log lines otherwise. */
  public static ProgressPrinter forConsole(PrintWriter out) {
    return new ProgressPrinter(
        out, System.console() != null, DEFAULT_LOG_INTERVAL_NANOS, System::nanoTime);
  }

  /** Shows this view of the job if it says something new. */
  public void update(JobView job) {
    boolean stateChanged = job.state() != lastState;
    boolean epochChanged = job.epoch() != lastEpoch;
    boolean stepChanged = job.step() != lastStep;
    lastState = job.state();
    lastEpoch = job.epoch();
    lastStep = job.step();
    if (live) {
      if (stateChanged || epochChanged || stepChanged) {
        redraw(liveLine(job));
      }
      return;
    }
    long now = nanoClock.getAsLong();
    if (stateChanged || epochChanged || (stepChanged && now - lastLogNanos >= logIntervalNanos)) {
      lastLogNanos = now;
      out.println(logLine(job));
      out.flush();
    }
  }

  /** Ends the progress display with the job's final line. */
  public void finish(JobView job) {
    if (live) {
      redraw(liveLine(job));
      out.println();
      liveLineLength = 0;
    } else if (job.state() != lastState || job.step() != lastStep) {
      out.println(logLine(job));
    }
    lastState = job.state();
    lastStep = job.step();
    lastEpoch = job.epoch();
    out.flush();
  }

  private void redraw(String line) {
    // \r returns to the line start; spaces erase what a longer previous line left behind
    int pad = Math.max(0, liveLineLength - line.length());
    out.print("\r" + line + " ".repeat(pad));
    out.flush();
    liveLineLength = line.length();
  }

  /** The live line: {@code [#####.....] 42% epoch 2 step 126/300 loss 1.2345 …}. */
  static String liveLine(JobView job) {
    StringBuilder line = new StringBuilder();
    double fraction =
        job.totalSteps() > 0 ? Math.min(1.0, (double) job.step() / job.totalSteps()) : 0.0;
    int filled = (int) Math.round(fraction * BAR_WIDTH);
    line.append('[')
        .append("#".repeat(filled))
        .append(".".repeat(BAR_WIDTH - filled))
        .append("] ")
        .append(String.format(Locale.ROOT, "%3d%%", Math.round(fraction * 100)));
    if (job.state() != JobState.RUNNING) {
      line.append(' ').append(job.state());
    }
    appendFigures(line, job);
    return line.toString();
  }

  /** A log line: {@code job-3 RUNNING epoch 2 step 126/300 loss 1.2345 …}. */
  static String logLine(JobView job) {
    StringBuilder line = new StringBuilder();
    line.append(job.id()).append(' ').append(job.state());
    appendFigures(line, job);
    if (job.error() != null) {
      line.append(": ").append(job.error());
    }
    return line.toString();
  }

  private static void appendFigures(StringBuilder line, JobView job) {
    if (job.epoch() > 0) {
      line.append("  epoch ").append(job.epoch());
    }
    line.append("  step ").append(job.step()).append('/').append(job.totalSteps());
    if (job.loss() != null) {
      line.append(String.format(Locale.ROOT, "  loss %.4f", job.loss()));
    }
    if (job.tokensPerSecond() != null) {
      line.append(String.format(Locale.ROOT, "  %,.0f tok/s", job.tokensPerSecond()));
    }
    if (job.etaSeconds() != null && !job.state().isTerminal()) {
      line.append("  ETA ").append(duration(job.etaSeconds()));
    }
    if (job.cost() != null) {
      line.append("  cost ").append(money(job.cost()));
      if (job.projectedCost() != null && !job.state().isTerminal()) {
        line.append(" of ~").append(money(job.projectedCost()));
      }
      if (job.currency() != null) {
        line.append(' ').append(job.currency());
      }
    }
  }

  /** {@code 37s}, {@code 4m12s}, {@code 3h05m}, {@code 2d04h}. */
  static String duration(double seconds) {
    long s = Math.max(0, Math.round(seconds));
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    if (s < 86_400) {
      return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
    return String.format(Locale.ROOT, "%dd%02dh", s / 86_400, (s % 86_400) / 3600);
  }

  static String money(double amount) {
    return String.format(Locale.ROOT, "%,.2f", amount);
  }
}
