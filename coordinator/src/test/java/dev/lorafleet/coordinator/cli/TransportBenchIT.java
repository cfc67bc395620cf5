package dev.lorafleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lorafleet bench transport} on tiny vectors: real sender processes on every transport, the
 * sums and broadcasts checked by the bench itself, and the ratio line last.
 */
class TransportBenchIT {
  @TempDir Path driverDir;

  @Test
  void benchRunsEveryTransportWithSenderProcessesAndEndsWithTheRatios() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      exit =
          Main.execute(
              "bench",
              "transport",
              "--sizes",
              "20K,50001",
              "--senders",
              "1,2",
              "--driver-dir",
              driverDir.toString(),
              "--sender-heap",
              "256m");
    } finally {
      System.setOut(original);
    }
    String output = captured.toString(StandardCharsets.UTF_8);
    System.out.print(output);
    assertThat(exit).isZero();
    List<String> lines = output.lines().toList();
    assertThat(lines.get(lines.size() - 1))
        .matches(
            "udp_vs_tcp=\\d+\\.\\d\\d ipc_vs_memcpy=\\d+\\.\\d\\d reduce_vs_add=\\d+\\.\\d\\d");
    for (String transport : List.of("aeron-udp", "aeron-ipc", "nio-tcp")) {
      assertThat(lines.stream().filter(line -> line.startsWith(transport)).count())
          .as(transport + " cells (2 sender counts x 2 sizes)")
          .isEqualTo(4);
    }
  }
}
