package dev.lorafleet.coordinator.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lorafleet.coordinator.api.JobReport;
import dev.lorafleet.coordinator.job.JobFiles;
import dev.lorafleet.coordinator.lease.FencedOutException;
import dev.lorafleet.coordinator.lease.LeaseKeeper;
import dev.lorafleet.coordinator.lease.StateDirLease;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointerTest {
  @TempDir Path jobDir;
  private final TestingRawFormat format = new TestingRawFormat();

  private static TrainerState state(long step) {
    return new TrainerState(
        1,
        step,
        3,
        42,
        step,
        0,
        List.of(new TrainerState.LossPoint(step - 1, 1, 2.5)),
        new TrainerState.EpochProgress(step * 8, step * 80, 1.5, 0, 2));
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
  void aPurgeThatFailsKeepsTheRunGoingAndIsRetriedAfterTheNextCheckpoint() throws IOException {
    java.util.concurrent.atomic.AtomicInteger attempts =
        new java.util.concurrent.atomic.AtomicInteger();
    Checkpointer checkpointer =
        new Checkpointer(
            jobDir,
            2,
            format,
            dev.lorafleet.coordinator.lease.Fence.NONE,
            root -> {
              if (attempts.getAndIncrement() == 0) {
                throw new IOException("Device or resource busy: " + root);
              }
              try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                  Files.delete(p);
                }
              }
            });
    float[] v = {0f};
    checkpointer.writeStep(state(5), v, v, v);
    checkpointer.writeStep(state(10), v, v, v);
    Path third = checkpointer.writeStep(state(15), v, v, v); // its purge of step 5 fails
    assertThat(third).isEqualTo(jobDir.resolve("checkpoints/step-00000015"));
    assertThat(entries(jobDir.resolve("checkpoints")))
        .containsExactly("step-00000005", "step-00000010", "step-00000015");

    checkpointer.writeStep(state(20), v, v, v); // the purge is retried: 5 and 10 go
    assertThat(entries(jobDir.resolve("checkpoints")))
        .containsExactly("step-00000015", "step-00000020");
    assertThat(checkpointer.latest()).contains(jobDir.resolve("checkpoints/step-00000020"));
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

  private Checkpointer threeCheckpoints() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 5, format);
    for (long step : new long[] {4, 8, 12}) {
      checkpointer.writeStep(
          state(step), new float[] {step, 1f}, new float[] {2f, 3f}, new float[] {4f, 5f});
    }
    return checkpointer;
  }

  private Path step(long step) {
    return jobDir.resolve("checkpoints").resolve(Checkpointer.stepDirName(step));
  }

  @Test
  void writesAManifestWithEveryFileSizeAndChecksum() throws IOException {
    threeCheckpoints();
    assertThat(entries(step(12)))
        .containsExactly(
            "exp_avg.bin", "exp_avg_sq.bin", "manifest.json", "params.bin", "trainer_state.json");
    String manifest = Files.readString(step(12).resolve("manifest.json"));
    assertThat(manifest)
        .contains("params.bin")
        .contains("trainer_state.json")
        .contains(Checkpointer.sha256(step(12).resolve("params.bin")));
    assertThat(Checkpointer.verify(step(12))).isEmpty();
  }

  @Test
  void resumeSkipsATruncatedCheckpoint() throws IOException {
    Checkpointer checkpointer = threeCheckpoints();
    Path params = step(12).resolve("params.bin");
    byte[] bytes = Files.readAllBytes(params);
    Files.write(params, java.util.Arrays.copyOf(bytes, bytes.length - 3));

    Checkpointer.Scan scan = checkpointer.latestValid();

    assertThat(scan.checkpoint()).contains(step(8));
    assertThat(scan.skipped())
        .singleElement()
        .asString()
        .contains("step-00000012")
        .contains("params.bin has " + (bytes.length - 3) + " bytes");
    assertThat(format.read(scan.checkpoint().orElseThrow())[0]).containsExactly(8f, 1f);
  }

  @Test
  void resumeSkipsACheckpointWithAFlippedByte() throws IOException {
    Checkpointer checkpointer = threeCheckpoints();
    Path params = step(12).resolve("exp_avg_sq.bin");
    byte[] bytes = Files.readAllBytes(params);
    bytes[bytes.length - 1] ^= 0x01;
    Files.write(params, bytes);

    Checkpointer.Scan scan = checkpointer.latestValid();

    assertThat(scan.checkpoint()).contains(step(8));
    assertThat(scan.skipped().get(0)).contains("exp_avg_sq.bin does not match its SHA-256");
  }

  @Test
  void resumeSkipsCheckpointsWithoutManifestOrWithAlteredState() throws IOException {
    Checkpointer checkpointer = threeCheckpoints();
    Files.delete(step(12).resolve("manifest.json"));
    Files.writeString(
        step(8).resolve("trainer_state.json"),
        Files.readString(step(8).resolve("trainer_state.json"))
            .replace("\"globalStep\" : 8", "\"globalStep\" : 9"));

    Checkpointer.Scan scan = checkpointer.latestValid();

    assertThat(scan.checkpoint()).contains(step(4));
    assertThat(scan.skipped()).hasSize(2);
    assertThat(scan.skipped().get(0)).contains("step-00000012").contains("no manifest.json");
    assertThat(scan.skipped().get(1)).contains("step-00000008").contains("trainer_state.json");
    assertThat(checkpointer.latest()).contains(step(4));
  }

  @Test
  void aHalfWrittenDirectoryLeftByACrashIsNotACheckpoint() throws IOException {
    Checkpointer checkpointer = threeCheckpoints();
    // what a crash between the payload and the manifest leaves when copied into place by hand
    Path half = Files.createDirectories(step(16));
    Files.copy(step(12).resolve("params.bin"), half.resolve("params.bin"));

    assertThat(checkpointer.latest()).contains(step(12));
    assertThat(checkpointer.latestValid().skipped())
        .singleElement()
        .asString()
        .contains("step-00000016");
  }

  @Test
  void damagedCheckpointsDoNotCountTowardsTheOnesKept() throws IOException {
    Checkpointer checkpointer = new Checkpointer(jobDir, 2, format);
    float[] v = {0f};
    checkpointer.writeStep(state(4), v, v, v);
    checkpointer.writeStep(state(8), v, v, v);
    Files.delete(step(8).resolve("manifest.json"));
    checkpointer.writeStep(state(12), v, v, v);

    // 8 is damaged, so 4 stays as the second valid one
    assertThat(entries(jobDir.resolve("checkpoints")))
        .containsExactly("step-00000004", "step-00000008", "step-00000012");
    checkpointer.writeStep(state(16), v, v, v);
    assertThat(entries(jobDir.resolve("checkpoints")))
        .containsExactly("step-00000012", "step-00000016");
  }

  @Test
  void coordinatorThatLostItsLeaseCannotOverwriteTheNewerHoldersCheckpoint() throws Exception {
    Path stateDir = jobDir.resolve("state");
    Path job = stateDir.resolve("jobs/j1");
    LeaseKeeper old = LeaseKeeper.of(StateDirLease.acquire(stateDir));
    Checkpointer oldWriter = new Checkpointer(job, 3, format, old);
    Path seven =
        oldWriter.writeStep(state(7), new float[] {1f}, new float[] {1f}, new float[] {1f});
    assertThat(Files.readString(seven.resolve(Checkpointer.MANIFEST)))
        .contains("\"fencingToken\" : 1");

    // the old holder's lock file is deleted and a newer coordinator takes the directory over
    Files.delete(stateDir.resolve(StateDirLease.LOCK_FILE));
    try (LeaseKeeper newer = LeaseKeeper.of(StateDirLease.acquire(stateDir))) {
      assertThat(newer.token()).isEqualTo(2);
      Checkpointer newWriter = new Checkpointer(job, 3, format, newer);
      Path fourteen =
          newWriter.writeStep(state(14), new float[] {2f}, new float[] {2f}, new float[] {2f});
      newWriter.writeFinal(state(14), new float[] {2f}, new float[] {2f}, new float[] {2f});
      String manifest = Files.readString(fourteen.resolve(Checkpointer.MANIFEST));
      assertThat(manifest).contains("\"fencingToken\" : 2");

      // the old one, not knowing yet, tries to publish the same step and the final adapter
      assertThatThrownBy(
              () ->
                  oldWriter.writeStep(
                      state(14), new float[] {9f}, new float[] {9f}, new float[] {9f}))
          .isInstanceOf(FencedOutException.class)
          .hasMessageContaining("fencing token 1");
      assertThatThrownBy(
              () ->
                  oldWriter.writeFinal(
                      state(14), new float[] {9f}, new float[] {9f}, new float[] {9f}))
          .isInstanceOf(FencedOutException.class);
      JobFiles oldFiles = new JobFiles(stateDir, "j1", old);
      assertThatThrownBy(() -> oldFiles.appendEvent(Instant.EPOCH, "step", Map.of("step", 15)))
          .isInstanceOf(FencedOutException.class);
      assertThatThrownBy(
              () ->
                  oldFiles.writeReport(
                      new JobReport(
                          "j1",
                          "n",
                          dev.lorafleet.coordinator.api.JobState.RUNNING,
                          "USD",
                          0,
                          List.of())))
          .isInstanceOf(FencedOutException.class);

      // the newer holder's files are untouched, and nothing half-written is left behind
      assertThat(Files.readString(fourteen.resolve(Checkpointer.MANIFEST))).isEqualTo(manifest);
      assertThat(format.read(fourteen)[0]).containsExactly(2f);
      assertThat(format.read(job.resolve("final"))[0]).containsExactly(2f);
      assertThat(Checkpointer.verify(fourteen)).isEmpty();
      assertThat(entries(job.resolve("checkpoints")))
          .containsExactly("step-00000007", "step-00000014");
      assertThat(entries(job)).containsExactly("checkpoints", "final");
      assertThat(old.lost()).isPresent();
      old.close();
      newWriter.writeStep(state(21), new float[] {3f}, new float[] {3f}, new float[] {3f});
    }
  }
}
