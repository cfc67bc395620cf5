package dev.lorafleet.common.transport;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's connection to Aeron: an embedded media driver in a directory of its own (unique
 * per process and per instance, deleted on {@link #close()}) plus a client, or only a client
 * attached to another process's driver (IPC on one machine).
 */
public final class DataPlaneDriver implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DataPlaneDriver.class);

  private final MediaDriver driver;
  private final Aeron aeron;
  private final Path directory;

  /** How to start another like this one after it died: the config and role, or null (attached). */
  private final DataPlaneConfig config;

  private final String role;

  private DataPlaneDriver(
      MediaDriver driver, Aeron aeron, Path directory, DataPlaneConfig config, String role) {
    this.driver = driver;
    this.aeron = aeron;
    this.directory = directory;
    this.config = config;
    this.role = role;
  }

  /**
   * The client's settings. A worker's client reports a dead driver and lets the data plane start a
   * new one ({@code WorkerDataPlane} does at its next send or wait). The coordinator keeps Aeron's
   * own reaction, exiting the process: its data plane has no such recovery, and a restarted
   * coordinator resumes every job from its last checkpoint.
   */
  private static Aeron.Context clientContext(String directory, String role) {
    Aeron.Context context =
        new Aeron.Context().aeronDirectoryName(directory).driverTimeoutMs(driverTimeoutMs());
    if (!role.equals("coordinator")) {
      context.errorHandler(
          error -> {
            if (error instanceof io.aeron.exceptions.DriverTimeoutException) {
              LOG.warn(
                  "The {}'s Aeron media driver in {} stopped answering ({}); the data plane starts"
                      + " a new one at its next send or wait.",
                  role,
                  directory,
                  error.getMessage());
            } else {
              LOG.error("The {}'s Aeron client in {} reported an error.", role, directory, error);
            }
          });
    }
    return context;
  }

  /**
   * How long the media driver may go without a heartbeat before its client takes it for dead:
   * Aeron's ({@code aeron.driver.timeout}, 10 s by default), or the system property {@code
   * lorafleet.dataplane.driverTimeoutMs} (read at each launch; tests shorten it).
   */
  static long driverTimeoutMs() {
    return Long.getLong(
        "lorafleet.dataplane.driverTimeoutMs", io.aeron.CommonContext.DRIVER_TIMEOUT_MS);
  }

  /**
   * Starts an embedded media driver configured from {@code config} in a fresh directory {@code
   * <driverDirectoryParent>/lorafleet-<role>-<pid>-<random>} and connects a client to it.
   *
   * @param role a short word for the directory name ("coordinator", "worker")
   */
  public static DataPlaneDriver launchEmbedded(DataPlaneConfig config, String role) {
    Path parent = config.driverDirectoryParent();
    Path directory =
        parent.resolve(
            "lorafleet-"
                + role
                + "-"
                + ProcessHandle.current().pid()
                + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16));
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw new DataPlaneException(
          "cannot create the data plane's driver directory parent "
              + parent
              + ": "
              + e.getMessage()
              + " (set another directory in the data plane config)",
          e);
    }
    MediaDriver.Context context =
        new MediaDriver.Context()
            .aeronDirectoryName(directory.toString())
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(config.threadingMode())
            .publicationTermBufferLength(config.termLength())
            .ipcTermBufferLength(config.termLength())
            .mtuLength(config.mtu())
            .ipcMtuLength(config.mtu())
            .spiesSimulateConnection(false)
            .sharedIdleStrategy(idleStrategy())
            .sharedNetworkIdleStrategy(idleStrategy())
            .conductorIdleStrategy(idleStrategy())
            .senderIdleStrategy(idleStrategy())
            .receiverIdleStrategy(idleStrategy());
    if (config.socketBufferBytes() > 0) {
      context
          .socketSndbufLength(config.socketBufferBytes())
          .socketRcvbufLength(config.socketBufferBytes())
          .initialWindowLength(receiverWindow(config, role.equals("coordinator") ? 4 : 1));
    }
    config.driverCustomizer().accept(context);
    MediaDriver driver;
    try {
      driver = MediaDriver.launchEmbedded(context);
    } catch (RuntimeException e) {
      throw new DataPlaneException(
          "cannot start the Aeron media driver in " + directory + ": " + e.getMessage(), e);
    }
    try {
      Aeron aeron = Aeron.connect(clientContext(directory.toString(), role));
      LOG.debug("Data plane media driver for the {} started in {}.", role, directory);
      return new DataPlaneDriver(driver, aeron, directory, config, role);
    } catch (RuntimeException e) {
      CloseHelper.quietClose(driver);
      deleteRecursively(directory);
      throw new DataPlaneException(
          "cannot connect to the Aeron media driver in " + directory + ": " + e.getMessage(), e);
    }
  }

  /**
   * The receiver window per image (how much one sender may have in flight). Every sender to the
   * coordinator shares its one UDP socket, so the windows of all of them must fit in the socket's
   * receive buffer or datagrams are dropped, NAKed and resent (slow). The coordinator splits its
   * buffer four ways (four senders run flat out without loss; for more workers raise
   * net.core.rmem_max and the buffer with them); a worker receives one stream (the parameters) and
   * gives it the whole buffer. Between machines (8 KiB datagrams) the kernel's bookkeeping per
   * datagram takes about half the buffer, so the windows add up to half of it: before that, 2
   * senders caused ~5 900 NAKs per 32 MB gather. On loopback (64 KiB datagrams) the bookkeeping is
   * small against the payload and Linux doubles the buffer asked for anyway, so the windows add up
   * to the whole buffer: measured side by side, 1 MiB coordinator windows instead of 512 KiB halved
   * the senders' flow-control stalls and raised udp_vs_tcp from 0.44-0.47 to 0.57-0.65, with no
   * loss.
   */
  static int receiverWindow(DataPlaneConfig config, int sendersPerSocket) {
    int share = DataPlaneChannels.isLoopback(config.host()) ? 1 : 2;
    int window =
        Math.min(config.socketBufferBytes() / (share * sendersPerSocket), config.termLength() / 2);
    return Math.max(window, 2 * config.mtu());
  }

  /**
   * How every data-plane thread waits when it has nothing to do: 10 spins, {@link #YIELDS} yields,
   * then parks that double from 1 µs up to {@link #MAX_PARK_NANOS}. Each flow-control round trip
   * passes through several threads (the sender's, the driver's conductor that moves the sender's
   * limit, the receiver's), often more threads than cores. A yield hands the core to one of them at
   * once and costs a microsecond when none is waiting; a park sleeps at least the kernel's timer
   * slack (50 µs), so parking early stalls the pipeline. Measured side by side on the 2-core VM
   * (Aeron IPC, same jar, two runs each): 200 yields gave 4.49 and 4.67 GB/s gather+broadcast
   * (geometric mean of six cells) where 20 gave 3.67 and 4.02; an idle thread still parks after
   * about a millisecond. A 50 µs park cap was no faster than 1 ms on shared cores (the extra
   * wake-ups compete for the same cores).
   */
  public static IdleStrategy idleStrategy() {
    return new BackoffIdleStrategy(10, YIELDS, 1_000, MAX_PARK_NANOS);
  }

  /** Yields before parking: 200, or the system property {@code lorafleet.dataplane.yields}. */
  public static final long YIELDS = Long.getLong("lorafleet.dataplane.yields", 200);

  /**
   * The longest a data-plane thread parks when idle: 1 ms (Agrona's default), or the system
   * property {@code lorafleet.dataplane.maxParkNanos}.
   */
  public static final long MAX_PARK_NANOS =
      Long.getLong("lorafleet.dataplane.maxParkNanos", 1_000_000L);

  /** Connects a client to the media driver another process runs in {@code directory} (IPC). */
  public static DataPlaneDriver attach(String directory) {
    try {
      return new DataPlaneDriver(
          null, Aeron.connect(clientContext(directory, "worker")), null, null, null);
    } catch (RuntimeException e) {
      throw new DataPlaneException(
          "cannot attach to the coordinator's Aeron media driver in "
              + directory
              + " (is the coordinator running on this machine?): "
              + e.getMessage(),
          e);
    }
  }

  public Aeron aeron() {
    return aeron;
  }

  /**
   * Whether the media driver is still there: the client is open, the driver's CnC file exists (a
   * closed driver deletes its directory; so may a tmp cleaner) and the driver's heartbeat in it is
   * younger than the driver timeout. Cheap (two memory reads and a file-exists check): call it
   * before each send or wait.
   */
  public boolean isAlive() {
    if (aeron.isClosed()) {
      return false;
    }
    Aeron.Context context = aeron.context();
    if (!context.cncFile().exists()) {
      return false;
    }
    try {
      long heartbeat = context.toDriverBuffer().consumerHeartbeatTime();
      return System.currentTimeMillis() - heartbeat <= context.driverTimeoutMs();
    } catch (RuntimeException e) {
      return false; // the client let go of the CnC file: it knows the driver is gone
    }
  }

  /**
   * Closes what is left of this driver and its client and starts a new one the same way (a new
   * embedded driver in a new directory, or attaches to the same directory again). Publications and
   * subscriptions of the old client are gone: the caller opens its channels again.
   *
   * @throws DataPlaneException when the new driver cannot start
   */
  public DataPlaneDriver relaunch() {
    try {
      close();
    } catch (RuntimeException e) {
      LOG.debug("Closing the dead media driver in {} failed: {}", directory(), e.toString());
    }
    return config != null
        ? launchEmbedded(config, role)
        : attach(aeron.context().aeronDirectoryName());
  }

  /** The media driver's directory (IPC peers attach here). */
  public String directory() {
    return aeron.context().aeronDirectoryName();
  }

  /** Closes the client, then the driver (if this process runs one), and deletes its directory. */
  @Override
  public void close() {
    CloseHelper.quietClose(aeron);
    if (driver != null) {
      CloseHelper.quietClose(driver);
      deleteRecursively(directory);
    }
  }

  private static void deleteRecursively(Path directory) {
    if (directory == null || !Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the data plane directory " + directory, e);
    }
  }
}
