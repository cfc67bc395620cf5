package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code run} refuses bad input before it starts anything. */
class RunCommandTest {
  @TempDir Path dir;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream originalErr;

  @BeforeEach
  void captureErr() {
    originalErr = System.err;
    System.setErr(new PrintStream(err, true));
  }

  @AfterEach
  void restoreErr() {
    System.setErr(originalErr);
  }

  @Test
  void refusesInvalidSpecListingEveryProblemAndStartsNothing() throws Exception {
    Path spec = dir.resolve("job.yaml");
    Files.writeString(spec, "name: x\nlora: {r: 0}\nbogus: 1\n");
    int exit =
        Main.execute(
            "run",
            spec.toString(),
            "--local-workers",
            "2",
            "--data-dir",
            dir.resolve("d").toString());
    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("lora.r").contains("bogus").contains("datasets");
    assertThat(dir.resolve("d")).doesNotExist();
  }

  @Test
  void refusesZeroLocalWorkers() {
    int exit = Main.execute("run", "job.yaml", "--local-workers", "0");
    assertThat(exit).isNotZero();
    assertThat(err.toString()).contains("--local-workers must be at least 1");
  }
}
