package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.plan.Activations;
import dev.lorafleet.common.plan.BatchPlan;
import dev.lorafleet.common.plan.EpochEstimate;
import dev.lorafleet.common.plan.GpuFit;
import dev.lorafleet.common.plan.MemoryEstimate;
import dev.lorafleet.common.plan.TrainingPlan;
import dev.lorafleet.common.spec.JobSpec;
import java.nio.file.Path;
import java.util.Locale;

/** The human-readable form of a plan: a few short tables and the assumptions behind them. */
final class PlanTable {
  private PlanTable() {}

  static String render(JobSpec job, TrainingPlan plan) {
    StringBuilder sb = new StringBuilder();
    Path modelPath = Path.of(plan.model()).getFileName();
    line(
        sb,
        "Plan for %s: %s (%s), LoRA r=%d alpha=%s on %s%s",
        job.name(),
        modelPath == null ? plan.model() : modelPath,
        plan.config().architecture().hfName(),
        plan.lora().r(),
        number(plan.lora().alpha()),
        String.join(", ", plan.lora().expandedTargetModules()),
        plan.lora().useRslora() ? " (rsLoRA)" : "");
    line(sb, "  %s", plan.parameters().peftLine());
    line(
        sb,
        "  adapter %s (fp32); the coordinator's optimizer state for it %s",
        bytes(plan.adapterBytes()),
        bytes(plan.coordinatorBytes()));
    sb.append('\n');

    MemoryEstimate m = plan.memoryPerGpu();
    Activations a = m.activations();
    line(sb, "Memory per GPU (micro-batch %d × %d tokens):", a.microBatchSize(), a.seqLen());
    row(sb, "frozen weights (bf16)", m.weights());
    row(sb, "adapter (fp32)", m.adapter());
    row(sb, "adapter gradients (fp32)", m.gradients());
    row(sb, "optimizer (on coordinator)", m.optimizer());
    row(sb, "activations", a.total());
    row(sb, "  RMSNorm inputs", a.norms());
    row(sb, "  attention q, k, v", a.attentionProjections());
    row(sb, "  attention scores (eager)", a.attentionScores());
    row(sb, "  MLP", a.mlp());
    row(sb, "  LoRA paths", a.lora());
    row(sb, "  loss head", a.lossHead());
    row(sb, "overhead", m.overhead());
    row(sb, "total", m.total());
    sb.append('\n');

    line(sb, "  %-6s %-5s %10s  %-26s %s", "GPU", "fits", "headroom", "max micro-batch", "e.g.");
    for (GpuFit fit : plan.fitsOn()) {
      line(
          sb,
          "  %-6s %-5s %10s  %-26s %s",
          fit.gpu().label(),
          fit.fits() ? "yes" : "no",
          signedGigabytes(fit.headroomBytes()),
          fit.maxMicroBatchSize() + " at " + a.seqLen() + " tokens",
          fit.gpu().examples());
    }
    if (plan.smallestFit() == null) {
      line(
          sb,
          "  does not fit on any of these GPUs: lower maxSeqLen or microBatchSize, or use a"
              + " smaller model");
    } else if (!plan.fitsOn().get(0).fits()
        || plan.fitsOn().stream().noneMatch(f -> f.fits() && f.maxMicroBatchSize() > 0)) {
      line(sb, "  smallest GPU that fits: %s", plan.smallestFit().label());
    }
    sb.append('\n');

    BatchPlan b = plan.batch();
    line(
        sb,
        "Fleet: %d worker%s × %d GPU%s = %d GPUs; %s",
        b.workers(),
        b.workers() == 1 ? "" : "s",
        b.gpusPerWorker(),
        b.gpusPerWorker() == 1 ? "" : "s",
        b.totalGpus(),
        b.describe());
    if (plan.epochs().isEmpty()) {
      plan.unavailable().forEach(u -> line(sb, "Unavailable: %s", u));
    } else {
      EpochEstimate first = plan.epochs().get(0);
      line(
          sb,
          "Per epoch: %s%,d tokens%s",
          first.samples() == null
              ? ""
              : String.format(Locale.ROOT, "%,d samples, ", first.samples()),
          plan.tokensPerEpoch(),
          plan.stepsPerEpoch() == null ? "" : ", " + plan.stepsPerEpoch() + " steps");
      if (plan.throughput() == null) {
        plan.unavailable().forEach(u -> line(sb, "Unavailable: %s", u));
      } else {
        line(
            sb,
            "Time: %s per epoch at %s tokens/s per GPU (%s); %d epoch%s %s",
            duration(plan.secondsPerEpoch()),
            number(plan.throughput().tokensPerSecondPerGpu()),
            plan.throughput().source(),
            plan.epochs().size(),
            plan.epochs().size() == 1 ? "" : "s",
            duration(plan.secondsPerEpoch() * plan.epochs().size()));
        line(
            sb,
            "Money: %s %s per epoch, %s %s in total at %s %s per GPU-hour",
            money(plan.costPerEpoch()),
            plan.currency(),
            money(plan.totalCost()),
            plan.currency(),
            number(plan.pricePerGpuHour()),
            plan.currency());
      }
    }
    sb.append('\n');
    line(sb, "Assumptions:");
    plan.assumptions().forEach(s -> line(sb, "  - %s", s));
    return sb.toString();
  }

  private static void line(StringBuilder sb, String format, Object... args) {
    sb.append(String.format(Locale.ROOT, format, args)).append('\n');
  }

  private static void row(StringBuilder sb, String label, long bytes) {
    line(sb, "  %-28s %10s", label, gigabytes(bytes));
  }

  static String gigabytes(long bytes) {
    return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
  }

  private static String signedGigabytes(long bytes) {
    return String.format(Locale.ROOT, "%+.2f GB", bytes / 1e9);
  }

  private static String bytes(long bytes) {
    if (bytes >= 1e9) {
      return gigabytes(bytes);
    }
    if (bytes >= 1e6) {
      return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
    return String.format(Locale.ROOT, "%.1f kB", bytes / 1e3);
  }

  private static String number(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15
        ? String.format(Locale.ROOT, "%,d", (long) value)
        : String.format(Locale.ROOT, "%,.2f", value);
  }

  private static String money(double value) {
    // cents hide the cost of a small job; show it with a few significant digits instead
    return value >= 1 || value == 0
        ? String.format(Locale.ROOT, "%,.2f", value)
        : String.format(Locale.ROOT, "%.3g", value);
  }

  private static String duration(double seconds) {
    if (seconds < 90) {
      return String.format(Locale.ROOT, "%.1f s", seconds);
    }
    if (seconds < 5400) {
      return String.format(Locale.ROOT, "%.1f min", seconds / 60);
    }
    return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
  }
}
