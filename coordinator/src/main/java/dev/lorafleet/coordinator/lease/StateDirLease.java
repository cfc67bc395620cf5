package dev.lorafleet.coordinator.lease;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state-directory lease: an OS file lock on {@code <stateDir>/coordinator.lock}, held for the
 * coordinator's life, and {@code <stateDir>/coordinator.lease} ({@link LeaseRecord}) beside it with
 * a fencing token that grows by one with every holder and names the holder.
 *
 * <p>The OS lets go of the lock when the process dies, however it dies (kill -9 included), so a
 * holder that is gone is taken over at once: its record stays behind and names it in the log. A
 * second coordinator on the same directory finds the lock taken and refuses to start (or waits for
 * it), naming the holder from the record. Before every write the holder re-reads the record ({@link
 * #verify()}): a newer token there means another coordinator took the directory over (the lock file
 * was deleted and re-created, or the file system lost the lock), and nothing more may be written.
 *
 * <p>The record is written to a temporary file, fsynced and renamed, so it is never half written.
 * The lock file itself is never written or deleted: replacing it would let two processes lock two
 * different files of the same name.
 */
public final class StateDirLease implements CoordinatorLease {
  public static final String LOCK_FILE = "coordinator.lock";
  public static final String LEASE_FILE = "coordinator.lease";

  private static final Logger log = LoggerFactory.getLogger(StateDirLease.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
  private static final Duration RETRY = Duration.ofMillis(500);

  /** Waits between attempts while the lease is held; tests pass one that moves a clock. */
  @FunctionalInterface
  public interface Pause {
    Pause REAL = d -> Thread.sleep(Math.max(1, d.toMillis()));

    void sleep(Duration duration) throws InterruptedException;
  }

  private final Path dir;
  private final Path lockFile;
  private final Path leaseFile;
  private final FileChannel channel;
  private final FileLock lock;
  private final Object lockFileKey;
  private final LeaseRecord record;
  private final Clock clock;
  private volatile boolean closed;

  private StateDirLease(
      Path dir,
      FileChannel channel,
      FileLock lock,
      Object lockFileKey,
      LeaseRecord record,
      Clock clock) {
    this.dir = dir;
    this.lockFile = dir.resolve(LOCK_FILE);
    this.leaseFile = dir.resolve(LEASE_FILE);
    this.channel = channel;
    this.lock = lock;
    this.lockFileKey = lockFileKey;
    this.record = record;
    this.clock = clock;
  }

  /** Takes the lease of {@code dir} for this process, refusing at once if it is held. */
  public static StateDirLease acquire(Path dir) throws IOException, InterruptedException {
    return acquire(
        dir, LeaseRecord.Holder.thisProcess(), Duration.ZERO, Clock.systemUTC(), Pause.REAL);
  }

  /**
   * Takes the lease of {@code dir}, waiting up to {@code wait} for a holder to let go.
   *
   * @throws LeaseHeldException naming the holder, when it still holds the lease after {@code wait}
   * @throws IOException when the lock cannot be taken on this file system, or the record is
   *     unreadable (the message names the file and what to do)
   */
  public static StateDirLease acquire(
      Path dir, LeaseRecord.Holder me, Duration wait, Clock clock, Pause pause)
      throws IOException, InterruptedException {
    Objects.requireNonNull(me, "me");
    Path stateDir = dir.toAbsolutePath().normalize();
    Instant deadline = clock.instant().plus(wait);
    boolean toldWaiting = false;
    while (true) {
      Optional<StateDirLease> lease = tryAcquire(stateDir, me, clock);
      if (lease.isPresent()) {
        return lease.get();
      }
      String holder = holderInWords(stateDir);
      Instant now = clock.instant();
      if (!now.isBefore(deadline)) {
        throw new LeaseHeldException(
            "the state directory "
                + stateDir
                + " is in use by "
                + holder
                + (wait.isZero() ? "" : ", still after waiting " + wait.toSeconds() + " s")
                + ". Two coordinators must never act on the same jobs: stop that one first, or"
                + " start this one with --lease-wait (e.g. --lease-wait 5m) to take over when it"
                + " stops.");
      }
      if (!toldWaiting) {
        log.info(
            "The state directory {} is in use by {}; waiting up to {} s for it to stop.",
            stateDir,
            holder,
            Duration.between(now, deadline).toSeconds());
        toldWaiting = true;
      }
      Duration left = Duration.between(now, deadline);
      pause.sleep(left.compareTo(RETRY) < 0 ? left : RETRY);
    }
  }

  private static Optional<StateDirLease> tryAcquire(Path dir, LeaseRecord.Holder me, Clock clock)
      throws IOException {
    Files.createDirectories(dir);
    Path lockFile = dir.resolve(LOCK_FILE);
    FileChannel channel =
        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // this very JVM holds it (two coordinators in one process, as tests do)
    } catch (IOException e) {
      channel.close();
      throw new IOException(
          "cannot lock "
              + lockFile
              + ": "
              + e.getMessage()
              + ". The coordinator's state directory must be on a file system with file locks"
              + " (a local disk, NFSv4, a Kubernetes volume).",
          e);
    }
    if (lock == null) {
      channel.close();
      return Optional.empty();
    }
    try {
      Object key = Files.readAttributes(lockFile, BasicFileAttributes.class).fileKey();
      Optional<LeaseRecord> previous = read(dir.resolve(LEASE_FILE));
      long token = previous.map(r -> r.token() + 1).orElse(1L);
      Instant now = clock.instant();
      LeaseRecord mine = LeaseRecord.taken(token, me, now);
      write(dir, mine);
      if (previous.isEmpty()) {
        log.info("Took the state directory {} (fencing token {}).", dir, token);
      } else if (previous.get().released() != null) {
        log.info(
            "Took the state directory {} (fencing token {}); the previous {} let go cleanly.",
            dir,
            token,
            previous.get().describeHolder());
      } else {
        log.warn(
            "Took over the state directory {} with fencing token {} from {}, which no longer holds"
                + " its lock (the process is gone); its unfinished jobs resume here.",
            dir,
            token,
            previous.get().describeHolder());
      }
      return Optional.of(new StateDirLease(dir, channel, lock, key, mine, clock));
    } catch (IOException | RuntimeException e) {
      lock.release();
      channel.close();
      throw e;
    }
  }

  /** The fencing token this coordinator holds. */
  public long token() {
    return record.token();
  }

  public LeaseRecord record() {
    return record;
  }

  public Path directory() {
    return dir;
  }

  @Override
  public String describe() {
    return "the state directory " + dir + " (fencing token " + record.token() + ")";
  }

  @Override
  public Duration renewInterval() {
    return Duration.ofSeconds(2);
  }

  @Override
  public void renew() throws LeaseLostException, IOException {
    verify(); // first: a newer holder's record names it, which says more than a missing lock file
    if (!lock.isValid()) {
      throw new LeaseLostException("the lock on " + lockFile + " was released");
    }
    Object key;
    try {
      key = Files.readAttributes(lockFile, BasicFileAttributes.class).fileKey();
    } catch (NoSuchFileException e) {
      throw new LeaseLostException(
          lockFile + " was deleted: another coordinator can lock a new one, so this one stops");
    }
    if (key != null && !key.equals(lockFileKey)) {
      throw new LeaseLostException(
          lockFile + " was replaced by another file: another coordinator may hold it now");
    }
  }

  @Override
  public void verify() throws LeaseLostException, IOException {
    if (closed) {
      throw new LeaseLostException(describe() + " was released");
    }
    Optional<LeaseRecord> now;
    try {
      now = read(leaseFile);
    } catch (LeaseFileException e) {
      throw new LeaseLostException(e.getMessage());
    }
    if (now.isEmpty()) {
      throw new LeaseLostException(
          leaseFile + " was deleted while this coordinator held fencing token " + record.token());
    }
    LeaseRecord current = now.get();
    if (current.token() != record.token()
        || current.pid() != record.pid()
        || !Objects.equals(current.host(), record.host())) {
      throw new LeaseLostException(
          leaseFile
              + " now names "
              + current.describeHolder()
              + "; this coordinator held fencing token "
              + record.token()
              + ", so another one has taken the state directory over");
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Optional<LeaseRecord> current = read(leaseFile);
      if (current.isPresent() && current.get().token() == record.token()) {
        write(dir, record.releasedAt(clock.instant()));
      }
    } catch (IOException | RuntimeException e) {
      log.debug("Could not mark {} released: {}", leaseFile, e.toString());
    }
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      log.debug("Could not release the lock on {}: {}", lockFile, e.toString());
    }
  }

  /** The record in {@code file}: empty when there is none yet. */
  static Optional<LeaseRecord> read(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try {
      LeaseRecord record = JSON.readValue(bytes, LeaseRecord.class);
      if (record.token() < 1) {
        throw new LeaseFileException(
            file, "its fencing token is " + record.token() + ", tokens start at 1");
      }
      return Optional.of(record);
    } catch (JsonProcessingException e) {
      throw new LeaseFileException(file, e.getOriginalMessage());
    }
  }

  /** The coordinator lease file is not one lorafleet wrote. */
  static final class LeaseFileException extends IOException {
    private static final long serialVersionUID = 1L;

    LeaseFileException(Path file, String why) {
      super(
          "the coordinator lease file "
              + file
              + " is unreadable ("
              + why
              + "). If no coordinator runs on "
              + file.getParent()
              + ", delete "
              + file
              + " and start again (fencing tokens then restart at 1).");
    }
  }

  private static String holderInWords(Path dir) {
    try {
      return read(dir.resolve(LEASE_FILE))
          .map(LeaseRecord::describeHolder)
          .orElse("another coordinator (it has not written " + LEASE_FILE + " yet)");
    } catch (IOException e) {
      return "another coordinator (" + e.getMessage() + ")";
    }
  }

  private static void write(Path dir, LeaseRecord record) throws IOException {
    Path target = dir.resolve(LEASE_FILE);
    Path temp = Files.createTempFile(dir, "." + LEASE_FILE, ".tmp");
    try {
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        out.write(java.nio.ByteBuffer.wrap(JSON.writeValueAsBytes(record)));
        out.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // some file systems cannot fsync a directory; the rename itself is atomic
    }
  }
}
