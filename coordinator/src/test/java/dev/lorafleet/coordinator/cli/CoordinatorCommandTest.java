package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lorafleet.coordinator.lease.StateDirLease;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator command's lease options, without starting a coordinator. */
class CoordinatorCommandTest {
  @TempDir Path dir;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream originalErr;

  @BeforeEach
  void captureStderr() {
    originalErr = System.err;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restoreStderr() {
    System.setErr(originalErr);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void refusesADataDirectoryAnotherCoordinatorHoldsWithExitCode3() throws Exception {
    try (StateDirLease holder = StateDirLease.acquire(dir)) {
      int code =
          Main.execute(
              "coordinator",
              "--data-dir",
              dir.toString(),
              "--http-port",
              "1",
              "--metrics-port",
              "1");
      assertThat(code).isEqualTo(CoordinatorCommand.EXIT_LEASE_HELD);
      assertThat(stderr())
          .startsWith("lorafleet coordinator: the state directory " + dir)
          .contains("is in use by coordinator pid " + ProcessHandle.current().pid())
          .contains("fencing token 1")
          .contains("--lease-wait");
      holder.verify(); // untouched
    }
  }

  @Test
  void aMalformedLeaseWaitIsAOneLineUsageError() {
    int code = Main.execute("coordinator", "--data-dir", dir.toString(), "--lease-wait", "soon");
    assertThat(code).isEqualTo(2);
    assertThat(stderr().strip())
        .isEqualTo(
            "lorafleet: --lease-wait: 'soon' is not a duration (write e.g. 90s, 10m, 1h30m or"
                + " PT10M) (see: lorafleet coordinator --help)");
  }
}
