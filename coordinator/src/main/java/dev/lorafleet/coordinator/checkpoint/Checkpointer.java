package dev.lorafleet.coordinator.checkpoint;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lorafleet.coordinator.lease.Fence;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a job's checkpoints under {@code <jobDir>/checkpoints/step-NNNNNNNN/} and its final
 * adapter under {@code <jobDir>/final/}. Every checkpoint is written into a hidden temporary
 * directory, every file and the directory fsynced, then renamed into place, so a crash leaves
 * either the whole checkpoint or none. A checkpoint counts only once its {@code manifest.json}
 * (every file's size and SHA-256, written last) is there and matches the files: a directory
 * truncated, altered or half-copied after its rename is skipped on resume. Keeps the newest {@code
 * keepLast} valid checkpoints (at least 2, so one damaged later never leaves nothing to resume
 * from).
 *
 * <p>Fenced: a checkpoint is published (renamed into place) only after the coordinator's {@link
 * Fence} confirms it still holds the lease, and its manifest carries the fencing token it was
 * written under. A coordinator that lost its lease to a newer one therefore never replaces the
 * newer one's checkpoints or final adapter. (The check and the rename are two steps; the lease
 * itself keeps a second writer from starting, the check catches one that lost its lease without
 * noticing.)
 */
public final class Checkpointer {
  public static final String TRAINER_STATE = "trainer_state.json";
  public static final String MANIFEST = "manifest.json";
  private static final Logger log = LoggerFactory.getLogger(Checkpointer.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path jobDir;
  private final Path checkpointsDir;
  private final int keepLast;
  private final CheckpointFormat format;
  private final TreeDeleter deleter;
  private final Fence fence;

  /** Deletes a directory tree (a seam so that tests can make a purge fail). */
  interface TreeDeleter {
    void delete(Path root) throws IOException;
  }

  /** A checkpointer of a job directory this process owns outright (no lease). */
  public Checkpointer(Path jobDir, int keepLast, CheckpointFormat format) {
    this(jobDir, keepLast, format, Fence.NONE);
  }

  public Checkpointer(Path jobDir, int keepLast, CheckpointFormat format, Fence fence) {
    this(jobDir, keepLast, format, fence, Checkpointer::deleteTree);
  }

  Checkpointer(
      Path jobDir, int keepLast, CheckpointFormat format, Fence fence, TreeDeleter deleter) {
    this.deleter = deleter;
    this.jobDir = jobDir;
    this.checkpointsDir = jobDir.resolve("checkpoints");
    this.keepLast = Math.max(2, keepLast);
    this.format = format;
    this.fence = fence;
  }

  /**
   * Writes {@code checkpoints/step-NNNNNNNN} atomically and drops valid checkpoints beyond
   * keepLast. A purge that fails does not fail the write (the new checkpoint is whole); it is
   * retried after the next write.
   */
  public Path writeStep(TrainerState state, float[] params, float[] expAvg, float[] expAvgSq)
      throws IOException {
    fence.check();
    Files.createDirectories(checkpointsDir);
    Path target = checkpointsDir.resolve(stepDirName(state.globalStep()));
    writeAtomically(target, state, params, expAvg, expAvgSq);
    try {
      purgeOld();
    } catch (IOException | UncheckedIOException e) {
      log.warn(
          "Could not remove old checkpoints in {} ({}); will try again after the next checkpoint.",
          checkpointsDir,
          e.getMessage());
    }
    return target;
  }

  /** Writes (or replaces) {@code final/} atomically. */
  public Path writeFinal(TrainerState state, float[] params, float[] expAvg, float[] expAvgSq)
      throws IOException {
    fence.check();
    Path target = jobDir.resolve("final");
    writeAtomically(target, state, params, expAvg, expAvgSq);
    return target;
  }

  /** The newest step checkpoint whose manifest matches its files, if any. */
  public Optional<Path> latest() throws IOException {
    return latestValid().checkpoint();
  }

  /**
   * What resume found: the newest valid checkpoint, and every newer one it had to skip with why.
   */
  public record Scan(Optional<Path> checkpoint, List<String> skipped) {}

  /** Verifies step checkpoints newest first and stops at the first valid one. */
  public Scan latestValid() throws IOException {
    List<Path> steps = stepDirs();
    List<String> skipped = new ArrayList<>();
    for (int i = steps.size() - 1; i >= 0; i--) {
      Optional<String> problem = verify(steps.get(i));
      if (problem.isEmpty()) {
        return new Scan(Optional.of(steps.get(i)), skipped);
      }
      skipped.add(steps.get(i).getFileName() + ": " + problem.get());
    }
    return new Scan(Optional.empty(), skipped);
  }

  /**
   * Checks a checkpoint directory against its manifest: empty when every listed file is there with
   * its size and SHA-256, else what is wrong (in words, naming the file).
   */
  public static Optional<String> verify(Path dir) {
    Path manifestFile = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifestFile)) {
      return Optional.of("no " + MANIFEST + " (the checkpoint was never completed)");
    }
    Manifest manifest;
    try {
      manifest = JSON.readValue(manifestFile.toFile(), Manifest.class);
    } catch (IOException e) {
      return Optional.of(MANIFEST + " is unreadable: " + e.getMessage());
    }
    if (manifest.files() == null || manifest.files().isEmpty()) {
      return Optional.of(MANIFEST + " lists no files");
    }
    for (Manifest.Entry entry : manifest.files()) {
      Path file = dir.resolve(entry.name()).normalize();
      if (!file.getParent().equals(dir.normalize())) {
        return Optional.of(MANIFEST + " names a file outside the checkpoint: " + entry.name());
      }
      try {
        if (!Files.isRegularFile(file)) {
          return Optional.of(entry.name() + " is missing");
        }
        long size = Files.size(file);
        if (size != entry.size()) {
          return Optional.of(
              entry.name() + " has " + size + " bytes, the manifest says " + entry.size());
        }
        if (!sha256(file).equals(entry.sha256())) {
          return Optional.of(entry.name() + " does not match its SHA-256 in the manifest");
        }
      } catch (IOException e) {
        return Optional.of(entry.name() + " cannot be read: " + e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * {@code manifest.json}: every other file of the checkpoint with its size and SHA-256, and the
   * fencing token of the coordinator that wrote it (absent without a lease, and in checkpoints of
   * older versions).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Manifest(List<Entry> files, Long fencingToken) {
    /** One file of a checkpoint. */
    public record Entry(String name, long size, String sha256) {}
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
      List<Manifest.Entry> entries = new ArrayList<>();
      try (Stream<Path> files = Files.list(temp)) {
        for (Path file : (Iterable<Path>) files.sorted()::iterator) {
          fsync(file, false);
          entries.add(
              new Manifest.Entry(file.getFileName().toString(), Files.size(file), sha256(file)));
        }
      }
      // the manifest goes last: a checkpoint without one was never finished
      Path manifest = temp.resolve(MANIFEST);
      long token = fence.token();
      JSON.writeValue(manifest.toFile(), new Manifest(entries, token > 0 ? token : null));
      fsync(manifest, false);
      fsync(temp, true);
      // publish only while this coordinator still holds the lease (FencedOutException otherwise)
      fence.check();
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
          .filter(Files::isDirectory)
          .forEach(dirs::add);
    }
    dirs.sort(Comparator.comparing(p -> Long.parseLong(p.getFileName().toString().substring(5))));
    return dirs;
  }

  /**
   * Deletes step checkpoints older than the newest {@code keepLast} valid ones; damaged ones among
   * the newest are left for a person to look at, and never count towards the ones kept.
   */
  private void purgeOld() throws IOException {
    List<Path> dirs = stepDirs();
    int valid = 0;
    for (int i = dirs.size() - 1; i >= 0; i--) {
      if (valid >= keepLast) {
        deleter.delete(dirs.get(i));
      } else if (verify(dirs.get(i)).isEmpty()) {
        valid++;
      }
    }
    try (Stream<Path> list = Files.list(checkpointsDir)) {
      // temporary directories of writes that a crash interrupted
      for (Path p : (Iterable<Path>) list::iterator) {
        String name = p.getFileName().toString();
        if (name.startsWith(".step-") && name.contains(".tmp-") && !isRecent(p)) {
          deleteTree(p);
        }
      }
    }
  }

  private static boolean isRecent(Path p) throws IOException {
    return Files.getLastModifiedTime(p).toMillis() > System.currentTimeMillis() - 600_000;
  }

  static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        digest.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
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
