package dev.lorafleet.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until issue #4 lands: refuses to run rather than pretend. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Train the built-in tiny demo: 3 epochs, 2 local workers, PEFT adapters in ./lorafleet-demo/.")
final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("'demo' is not built yet (issue #4)");
  }
}
