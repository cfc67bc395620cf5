package dev.lorafleet.worker.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoDataWriterTest {
  @TempDir Path tmp;

  @Test
  void writesTheSameFilesEveryTime() throws IOException {
    DemoDataWriter.DemoDataset a = new DemoDataWriter().write(tmp.resolve("a"));
    DemoDataWriter.DemoDataset b = new DemoDataWriter().write(tmp.resolve("b"));
    for (Path[] pair :
        List.of(
            new Path[] {a.train(), b.train()},
            new Path[] {a.eval(), b.eval()},
            new Path[] {a.general(), b.general()},
            new Path[] {a.generalEval(), b.generalEval()})) {
      assertThat(Files.readAllBytes(pair[0])).isEqualTo(Files.readAllBytes(pair[1]));
    }
    assertThat(Files.readAllLines(a.train())).hasSize(384);
    assertThat(Files.readAllLines(a.generalEval())).hasSize(32);
  }

  @Test
  void keepsEvalInputsOutOfTraining() throws IOException {
    DemoDataWriter.DemoDataset d = new DemoDataWriter().write(tmp);
    Set<String> train = new HashSet<>(Files.readAllLines(d.train()));
    for (String line : Files.readAllLines(d.eval())) {
      assertThat(train).doesNotContain(line);
    }
  }

  @Test
  void writesReversalExamples() throws IOException {
    DemoDataWriter.DemoDataset d = new DemoDataWriter().write(tmp);
    String first = Files.readAllLines(d.train()).get(0);
    assertThat(first)
        .startsWith("{\"instruction\":\"Reverse the order of the words.\",\"input\":\"");
    var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(first);
    List<String> in = List.of(node.get("input").asText().split(" "));
    List<String> out = new java.util.ArrayList<>(List.of(node.get("output").asText().split(" ")));
    java.util.Collections.reverse(out);
    assertThat(out).isEqualTo(in);
  }
}
