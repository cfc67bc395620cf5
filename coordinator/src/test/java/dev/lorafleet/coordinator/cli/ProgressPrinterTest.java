package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.api.EpochReport;
import dev.lorafleet.coordinator.api.JobState;
import dev.lorafleet.coordinator.api.JobView;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressPrinterTest {
  static JobView running(int epoch, long step, double loss) {
    return new JobView(
        "job-7",
        "medqa-lora",
        JobState.RUNNING,
        epoch,
        step,
        300,
        loss,
        12_345.6,
        252.0,
        12.5,
        30.0,
        "CNY",
        List.of(),
        null);
  }

  @Test
  void formatsDurationsAndMoney() {
    assertThat(ProgressPrinter.duration(37.4)).isEqualTo("37s");
    assertThat(ProgressPrinter.duration(252)).isEqualTo("4m12s");
    assertThat(ProgressPrinter.duration(3 * 3600 + 5 * 60)).isEqualTo("3h05m");
    assertThat(ProgressPrinter.duration(2 * 86_400 + 4 * 3600)).isEqualTo("2d04h");
    assertThat(ProgressPrinter.money(1234.5)).isEqualTo("1,234.50");
  }

  @Test
  void rendersTheLiveLineWithBarAndEveryFigure() {
    assertThat(ProgressPrinter.liveLine(running(2, 150, 1.23456)))
        .isEqualTo(
            "[############............]  50%  epoch 2  step 150/300  loss 1.2346  12,346 tok/s"
                + "  ETA 4m12s  cost 12.50 of ~30.00 CNY");
  }

  @Test
  void redrawsTheLiveLineInPlaceAndEndsItWithANewline() {
    StringWriter text = new StringWriter();
    ProgressPrinter printer = new ProgressPrinter(new PrintWriter(text), true, 0, () -> 0);

    printer.update(running(1, 10, 2.0));
    printer.update(running(1, 10, 2.0)); // nothing new: no redraw
    printer.update(running(1, 20, 1.9));
    printer.finish(running(1, 20, 1.9));

    String out = text.toString();
    assertThat(out.chars().filter(c -> c == '\r').count()).isEqualTo(3);
    assertThat(out).endsWith(System.lineSeparator());
    assertThat(out).contains("step 10/300").contains("step 20/300");
  }

  @Test
  void logsStateAndEpochChangesAndThrottlesStepsWhenNotATerminal() {
    StringWriter text = new StringWriter();
    AtomicLong now = new AtomicLong();
    ProgressPrinter printer =
        new ProgressPrinter(new PrintWriter(text), false, TimeUnit.SECONDS.toNanos(10), now::get);

    printer.update(JobView.queued("job-7", "medqa-lora", 300, "CNY"));
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    printer.update(running(1, 10, 2.0)); // state changed: logged
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    printer.update(running(1, 20, 1.9)); // 1 s later: throttled
    now.addAndGet(TimeUnit.SECONDS.toNanos(10));
    printer.update(running(1, 90, 1.5)); // 10 s later: logged
    printer.update(running(2, 100, 1.4)); // new epoch: logged
    printer.finish(
        new JobView(
            "job-7",
            "medqa-lora",
            JobState.SUCCEEDED,
            3,
            300,
            300,
            1.1,
            null,
            null,
            30.0,
            30.0,
            "CNY",
            List.of(),
            null));

    assertThat(text.toString().lines())
        .containsExactly(
            "job-7 QUEUED  step 0/300  cost 0.00 CNY",
            "job-7 RUNNING  epoch 1  step 10/300  loss 2.0000  12,346 tok/s  ETA 4m12s  cost 12.50"
                + " of ~30.00 CNY",
            "job-7 RUNNING  epoch 1  step 90/300  loss 1.5000  12,346 tok/s  ETA 4m12s  cost 12.50"
                + " of ~30.00 CNY",
            "job-7 RUNNING  epoch 2  step 100/300  loss 1.4000  12,346 tok/s  ETA 4m12s  cost"
                + " 12.50 of ~30.00 CNY",
            "job-7 SUCCEEDED  epoch 3  step 300/300  loss 1.1000  cost 30.00 CNY");
  }

  @Test
  void rendersTheEpochTableWithOneColumnPerEvalSet() {
    EpochReport first =
        new EpochReport(
            1, 1000, 250_000, 252, 0.56, 1.40, 992.1, 1.2345, Map.of("medqa-heldout", 1.3), 2, 0);
    EpochReport second =
        new EpochReport(
            2, 1000, 250_000, 250, 0.55, 1.38, 1000.0, 1.1, Map.of("medqa-heldout", 1.25), 2, 1);

    assertThat(EpochTable.render(List.of(first, second), "CNY").lines())
        .containsExactly(
            "epoch  samples   tokens   time  tokens/s  GPU-h  cost (CNY)  train loss"
                + "  eval medqa-heldout  workers  skipped",
            "    1    1,000  250,000  4m12s       992  0.560        1.40      1.2345"
                + "              1.3000        2        0",
            "    2    1,000  250,000  4m10s     1,000  0.550        1.38      1.1000"
                + "              1.2500        2        1");
  }
}
