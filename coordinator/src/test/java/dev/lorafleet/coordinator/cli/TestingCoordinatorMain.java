package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.checkpoint.TestingRawFormat;
import java.nio.file.Path;

/**
 * A coordinator process for multi-process tests: the real command line, cluster, data plane and job
 * manager, with checkpoints as raw vectors (the quadratic stand-in has no PEFT layout) and the data
 * plane on free ports with its driver under {@code -Dlorafleet.test.aeron-dir}.
 */
public final class TestingCoordinatorMain {
  private TestingCoordinatorMain() {}

  public static void main(String[] args) {
    TestingRawFormat format = new TestingRawFormat();
    CoordinatorCommand.formats = (settings, json, length) -> format;
    CoordinatorCommand.dataPlane =
        c ->
            c.withPorts(0, 0)
                .withDriverDirectoryParent(Path.of(System.getProperty("lorafleet.test.aeron-dir")));
    System.exit(Main.execute(args));
  }
}
