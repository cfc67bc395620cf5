package dev.lorafleet.coordinator.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointerTest {
  @TempDir Path jobDir;
  private final TestingRawFormat format = new TestingRawFormat();

  private static TrainerState state(long step) {
    return new TrainerState(
        1, step, 3, 42, step, 0, List.of(new TrainerState.LossPoint(step - 1, 1, 2.5)));
  }

  private List<String> entries(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void writesStepCheckpointThatReadsBack() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 3, format);
    Path dir =
        checkpointer.writeStep(
            state(12), new float[] {1f, 2f}, new float[] {3f, 4f}, new float[] {5f, 6f});
    assertThat(dir).isEqualTo(jobDir.resolve("checkpoints/step-00000012"));
    assertThat(Checkpointer.readState(dir)).isEqualTo(state(12));
    float[][] vectors = format.read(dir);
    assertThat(vectors[0]).containsExactly(1f, 2f);
    assertThat(vectors[2]).containsExactly(5f, 6f);
    assertThat(checkpointer.latest()).contains(dir);
  }

  @Test
  void keepsTheNewestAndNeverFewerThanTwo() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 1, format);
    float[] v = {0f};
    for (long step : new long[] {5, 10, 15, 20}) {
      checkpointer.writeStep(state(step), v, v, v);
    }
    assertThat(entries(jobDir.resolve("checkpoints")))
        .containsExactly("step-00000015", "step-00000020");
  }

  @Test
  void failedWriteLeavesNoPartialCheckpointAndKeepsEarlierOnes() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 3, format);
    float[] v = {0f};
    checkpointer.writeStep(state(5), v, v, v);
    format.failAfterFirstFile = true;
    assertThatThrownBy(() -> checkpointer.writeStep(state(10), v, v, v))
        .hasMessageContaining("disk full");
    assertThat(entries(jobDir.resolve("checkpoints"))).containsExactly("step-00000005");
    assertThat(checkpointer.latest()).contains(jobDir.resolve("checkpoints/step-00000005"));
  }

  @Test
  void finalIsReplacedAtomically() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 3, format);
    checkpointer.writeFinal(state(3), new float[] {1f}, new float[] {0f}, new float[] {0f});
    checkpointer.writeFinal(state(4), new float[] {2f}, new float[] {0f}, new float[] {0f});
    assertThat(format.read(jobDir.resolve("final"))[0]).containsExactly(2f);
    assertThat(entries(jobDir)).containsExactly("final");
  }
}
