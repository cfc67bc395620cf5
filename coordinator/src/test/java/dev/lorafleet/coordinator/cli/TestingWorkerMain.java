package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.job.TestingQuadraticCompute;

/**
 * A worker process for multi-process tests: the real command line, cluster and data plane, with the
 * quadratic stand-in instead of the trainer (so the distributed path is tested on its own).
 */
public final class TestingWorkerMain {
  private TestingWorkerMain() {}

  public static void main(String[] args) {
    WorkerCommand.computeFactory = TestingQuadraticCompute.factory();
    System.exit(Main.execute(args));
  }
}
