package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.spec.JobSpec;
import dev.lorafleet.coordinator.plan.PlanService;
import java.io.PrintWriter;

/** {@code plan --probe}: a few real training steps on this machine to measure throughput. */
final class Probe {
  private Probe() {}

  static PlanService.Options measure(JobSpec job, PlanService.Options options, PrintWriter err) {
    throw new UnsupportedOperationException(
        "--probe needs the worker's trainer, which is not built yet; give"
            + " --tokens-per-second-per-gpu instead");
  }
}
