package dev.lorafleet.common.transport;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Settings of one process's data plane (its embedded media driver and channels). Start from {@link
 * #defaults()} and change what you need with the {@code with…} methods; the defaults are the tuned
 * settings documented in {@code docs/performance-transport.md}.
 *
 * @param transport UDP between processes or machines, or IPC through one shared media driver
 * @param host the address this process binds and advertises (coordinator: its gradient and
 *     parameter-control endpoints; worker: its parameter receive endpoint)
 * @param gradientPort coordinator's UDP port for gradients; 0 picks a free port (tests)
 * @param parameterPort coordinator's UDP control port for the parameter broadcast; 0 picks a free
 *     port
 * @param driverDirectoryParent where the per-process driver directory is created (a tmpfs such as
 *     /dev/shm is fastest; containers often have a small /dev/shm, then use a disk path)
 * @param threadingMode the media driver's threading mode
 * @param termLength Aeron term length in bytes (power of two, 64 KiB..1 GiB); bounds the data in
 *     flight per publication
 * @param mtu Aeron MTU in bytes (multiple of 32, at most 65504); one chunk fits one frame
 * @param socketBufferBytes UDP socket send and receive buffer (the OS may cap it:
 *     net.core.rmem_max)
 * @param chunkBytes payload bytes per chunk; 0 means the largest that fits one frame
 * @param sendTimeout how long a send may make no progress (back pressure, a peer not connected)
 *     before it fails
 * @param maxVectorLength longest vector a receiver accepts, in elements (guards allocations against
 *     hostile length fields)
 * @param driverCustomizer last word on the media driver context (tests install loss generators)
 */
public record DataPlaneConfig(
    Transport transport,
    String host,
    int gradientPort,
    int parameterPort,
    Path driverDirectoryParent,
    ThreadingMode threadingMode,
    int termLength,
    int mtu,
    int socketBufferBytes,
    int chunkBytes,
    Duration sendTimeout,
    int maxVectorLength,
    Consumer<MediaDriver.Context> driverCustomizer) {

  /** UDP to reach other machines; IPC when every party shares the coordinator's media driver. */
  public enum Transport {
    UDP,
    IPC
  }

  public static final int DEFAULT_GRADIENT_PORT = 40123;
  public static final int DEFAULT_PARAMETER_PORT = 40124;

  public DataPlaneConfig {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(driverDirectoryParent, "driverDirectoryParent");
    Objects.requireNonNull(threadingMode, "threadingMode");
    Objects.requireNonNull(sendTimeout, "sendTimeout");
    Objects.requireNonNull(driverCustomizer, "driverCustomizer");
    requirePort("gradientPort", gradientPort);
    requirePort("parameterPort", parameterPort);
    if (termLength < 64 * 1024 || termLength > 1 << 30 || Integer.bitCount(termLength) != 1) {
      throw new IllegalArgumentException(
          "data plane termLength must be a power of two between 64 KiB and 1 GiB, got "
              + termLength);
    }
    if (mtu < 1024 || mtu > 65504 || mtu % 32 != 0) {
      throw new IllegalArgumentException(
          "data plane mtu must be a multiple of 32 between 1024 and 65504, got " + mtu);
    }
    if (socketBufferBytes < 0 || chunkBytes < 0 || maxVectorLength <= 0) {
      throw new IllegalArgumentException(
          "data plane socketBufferBytes and chunkBytes must be >= 0 and maxVectorLength > 0");
    }
  }

  /** The tuned defaults: UDP on 127.0.0.1, default ports, driver directory on tmpfs if present. */
  public static DataPlaneConfig defaults() {
    return new DataPlaneConfig(
        Transport.UDP,
        "127.0.0.1",
        DEFAULT_GRADIENT_PORT,
        DEFAULT_PARAMETER_PORT,
        defaultDriverDirectoryParent(),
        ThreadingMode.SHARED,
        8 * 1024 * 1024,
        8192,
        4 * 1024 * 1024,
        0,
        Duration.ofSeconds(30),
        1 << 28,
        ctx -> {});
  }

  /** /dev/shm when it exists and is writable, else the JVM's temporary directory. */
  public static Path defaultDriverDirectoryParent() {
    Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm)
        ? shm
        : Path.of(System.getProperty("java.io.tmpdir"));
  }

  public DataPlaneConfig withTransport(Transport value) {
    return new DataPlaneConfig(
        value,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withHost(String value) {
    return new DataPlaneConfig(
        transport,
        value,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  /** Both coordinator ports; 0 picks free ports (what tests want). */
  public DataPlaneConfig withPorts(int gradient, int parameter) {
    return new DataPlaneConfig(
        transport,
        host,
        gradient,
        parameter,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withDriverDirectoryParent(Path value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        value,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withThreadingMode(ThreadingMode value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        value,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withTermLength(int value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        value,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withMtu(int value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        value,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withSocketBufferBytes(int value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        value,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withChunkBytes(int value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        value,
        sendTimeout,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withSendTimeout(Duration value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        value,
        maxVectorLength,
        driverCustomizer);
  }

  public DataPlaneConfig withMaxVectorLength(int value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        value,
        driverCustomizer);
  }

  public DataPlaneConfig withDriverCustomizer(Consumer<MediaDriver.Context> value) {
    return new DataPlaneConfig(
        transport,
        host,
        gradientPort,
        parameterPort,
        driverDirectoryParent,
        threadingMode,
        termLength,
        mtu,
        socketBufferBytes,
        chunkBytes,
        sendTimeout,
        maxVectorLength,
        value);
  }

  private static void requirePort(String name, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "data plane " + name + " must be 0 (any free port) or 1..65535, got " + port);
    }
  }
}
