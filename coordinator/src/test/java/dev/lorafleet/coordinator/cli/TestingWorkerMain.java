package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.job.FaultyCompute;
import dev.lorafleet.coordinator.job.TestingQuadraticCompute;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A worker process for multi-process tests: the real command line, cluster and data plane, with the
 * quadratic stand-in instead of the trainer (so the distributed path is tested on its own).
 *
 * <p>Test-only fault injection, taken off the arguments before the real command line sees them:
 * {@code --test-fail-steps N} (the first N step shares crash as model code would), {@code
 * --test-share-delay-ms MS} (every share takes that long more: a slow device), {@code
 * --test-slow-share N:MS:FILE} (the N-th share, counted from 1, creates FILE and then takes MS
 * longer, so a test can freeze the worker in the middle of a known step).
 */
public final class TestingWorkerMain {
  private TestingWorkerMain() {}

  public static void main(String[] args) {
    List<String> rest = new ArrayList<>();
    int failSteps = 0;
    long delayMs = 0;
    String slow = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--test-fail-steps" -> failSteps = Integer.parseInt(args[++i]);
        case "--test-share-delay-ms" -> delayMs = Long.parseLong(args[++i]);
        case "--test-slow-share" -> slow = args[++i];
        default -> rest.add(args[i]);
      }
    }
    if (failSteps == 0 && delayMs == 0 && slow == null) {
      WorkerCommand.computeFactory = TestingQuadraticCompute.factory();
    } else {
      int slowShare = slow == null ? -1 : Integer.parseInt(slow.split(":", 3)[0]);
      long slowMs = slow == null ? 0 : Long.parseLong(slow.split(":", 3)[1]);
      Path marker = slow == null ? null : Path.of(slow.split(":", 3)[2]);
      WorkerCommand.computeFactory =
          FaultyCompute.factory(
              "this worker",
              failSteps,
              0,
              new FaultyCompute.Delays(delayMs, slowShare, slowMs, marker));
    }
    System.exit(Main.execute(rest.toArray(String[]::new)));
  }
}
