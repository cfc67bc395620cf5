package dev.lorafleet.coordinator.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Writes a job's checkpoints under {@code <jobDir>/checkpoints/step-NNNNNNNN/} and its final
 * adapter under {@code <jobDir>/final/}. Every checkpoint is written into a hidden temporary
 * directory, every file and the directory fsynced, then renamed into place, so a crash leaves
 * either the whole checkpoint or none. Keeps the newest {@code keepLast} (at least 2, so a
 * checkpoint damaged after its rename never leaves nothing to resume from).
 */
public final class Checkpointer {
  public static final String TRAINER_STATE = "trainer_state.json";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path jobDir;
  private final Path checkpointsDir;
  private final int keepLast;
  private final CheckpointFormat format;

  public Checkpointer(Path jobDir, int keepLast, CheckpointFormat format) {
    this.jobDir = jobDir;
    this.checkpointsDir = jobDir.resolve("checkpoints");
    this.keepLast = Math.max(2, keepLast);
    this.format = format;
  }

  /** Writes {@code checkpoints/step-NNNNNNNN} atomically and drops checkpoints beyond keepLast. */
  public Path writeStep(TrainerState state, float[] params, float[] expAvg, float[] expAvgSq)
      throws IOException {
    Files.createDirectories(checkpointsDir);
    Path target = checkpointsDir.resolve(stepDirName(state.globalStep()));
    writeAtomically(target, state, params, expAvg, expAvgSq);
    purgeOld();
    return target;
  }

  /** Writes (or replaces) {@code final/} atomically. */
  public Path writeFinal(TrainerState state, float[] params, float[] expAvg, float[] expAvgSq)
      throws IOException {
    Path target = jobDir.resolve("final");
    writeAtomically(target, state, params, expAvg, expAvgSq);
    return target;
  }

  /** The newest complete step checkpoint, if any. */
  public Optional<Path> latest() throws IOException {
    List<Path> steps = stepDirs();
    return steps.isEmpty() ? Optional.empty() : Optional.of(steps.get(steps.size() - 1));
  }

  /** Reads a checkpoint's trainer state. */
  public static TrainerState readState(Path dir) throws IOException {
    return JSON.readValue(dir.resolve(TRAINER_STATE).toFile(), TrainerState.class);
  }

  public CheckpointFormat format() {
    return format;
  }

  static String stepDirName(long step) {
    return String.format("step-%08d", step);
  }

  private void writeAtomically(
      Path target, TrainerState state, float[] params, float[] expAvg, float[] expAvgSq)
      throws IOException {
    Path parent = target.getParent();
    Files.createDirectories(parent);
    Path temp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp-");
    try {
      format.write(temp, params, expAvg, expAvgSq);
      JSON.writeValue(temp.resolve(TRAINER_STATE).toFile(), state);
      try (Stream<Path> files = Files.list(temp)) {
        for (Path file : (Iterable<Path>) files::iterator) {
          fsync(file, false);
        }
      }
      fsync(temp, true);
      if (Files.exists(target)) {
        // replacing (final/, or a step written again after resume): move the old one aside first
        Path old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old-");
        Files.delete(old);
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
      } else {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      }
      fsync(parent, true);
    } catch (IOException | RuntimeException e) {
      deleteTree(temp);
      throw e;
    }
  }

  private List<Path> stepDirs() throws IOException {
    if (!Files.isDirectory(checkpointsDir)) {
      return List.of();
    }
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> list = Files.list(checkpointsDir)) {
      list.filter(p -> p.getFileName().toString().matches("step-\\d{8,}"))
          .filter(p -> Files.isRegularFile(p.resolve(TRAINER_STATE)))
          .forEach(dirs::add);
    }
    dirs.sort(Comparator.comparing(p -> Long.parseLong(p.getFileName().toString().substring(5))));
    return dirs;
  }

  private void purgeOld() throws IOException {
    List<Path> dirs = stepDirs();
    for (int i = 0; i < dirs.size() - keepLast; i++) {
      deleteTree(dirs.get(i));
    }
  }

  private static void fsync(Path path, boolean directory) throws IOException {
    try (FileChannel channel =
        FileChannel.open(path, directory ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      channel.force(true);
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
