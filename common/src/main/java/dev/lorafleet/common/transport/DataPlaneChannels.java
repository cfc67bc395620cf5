package dev.lorafleet.common.transport;

import dev.lorafleet.common.transport.DataPlaneConfig.Transport;

/**
 * The Aeron channel strings and stream ids of the data plane, in one place.
 *
 * <ul>
 *   <li>Gradients (workers to coordinator): every worker's exclusive publication to the
 *       coordinator's UDP endpoint, one image per worker on the coordinator's subscription.
 *   <li>Parameters (coordinator to workers): one multi-destination-cast publication in dynamic
 *       control mode with min flow control (the slowest live worker sets the pace, nobody is
 *       overrun); a worker subscribes with its own endpoint (any free port) and the coordinator's
 *       control endpoint, so the coordinator needs no per-worker address. One term-buffer write
 *       serves every worker, where one publication per worker would copy the vector once each.
 *   <li>IPC: the same two streams on {@code aeron:ipc} inside the coordinator's media driver.
 * </ul>
 */
public final class DataPlaneChannels {
  public static final int GRADIENT_STREAM_ID = 0x4c460001;
  public static final int PARAMETER_STREAM_ID = 0x4c460002;

  /** Aeron's largest MTU (a multiple of 32 below 64 KiB). */
  public static final int IPC_MTU = 65504;

  private DataPlaneChannels() {}

  /** The coordinator's gradient subscription. */
  public static String gradientSubscription(DataPlaneConfig config) {
    return switch (config.transport()) {
      case UDP -> "aeron:udp?endpoint=" + config.host() + ":" + config.gradientPort();
      case IPC -> "aeron:ipc";
    };
  }

  /** A worker's gradient publication to the coordinator. */
  public static String gradientPublication(DataPlaneEndpoints coordinator, DataPlaneConfig config) {
    return switch (coordinator.transport()) {
      case UDP ->
          "aeron:udp?endpoint="
              + coordinator.gradientEndpoint()
              + tuning(config, hostOf(coordinator.gradientEndpoint()));
      case IPC -> ipc(config);
    };
  }

  /** The coordinator's parameter broadcast publication ({@code port} 0 binds a free port). */
  public static String parameterPublication(DataPlaneConfig config, int port) {
    return config.transport() == Transport.UDP
        ? "aeron:udp?control="
            + config.host()
            + ":"
            + port
            + "|control-mode=dynamic|fc=min"
            + tuning(config, config.host())
        : ipc(config);
  }

  /** A worker's parameter subscription. */
  public static String parameterSubscription(
      DataPlaneEndpoints coordinator, DataPlaneConfig config) {
    return switch (coordinator.transport()) {
      case UDP ->
          "aeron:udp?endpoint="
              + config.host()
              + ":0|control="
              + coordinator.parameterControlEndpoint()
              + "|control-mode=dynamic";
      case IPC -> "aeron:ipc";
    };
  }

  /**
   * IPC publications always use the largest frame Aeron allows: no network MTU applies in shared
   * memory, and larger chunks mean fewer frames to claim, hash and poll.
   */
  private static String ipc(DataPlaneConfig config) {
    return "aeron:ipc?mtu=" + IPC_MTU + "|term-length=" + config.termLength();
  }

  private static String tuning(DataPlaneConfig config, String peerHost) {
    return "|mtu=" + udpMtu(config, peerHost) + "|term-length=" + config.termLength();
  }

  /**
   * The MTU of a UDP stream: the configured one between machines, Aeron's largest on loopback. The
   * loopback device's MTU is 64 KiB, so a 64 KiB datagram costs one system call where 8 KiB frames
   * cost eight; measured side by side on loopback, 65504 gave udp_vs_tcp 0.27-1.02 where 8192 gave
   * 0.14-0.23 in the same runs. A coordinator bound to a loopback address only has workers on its
   * own machine.
   */
  static int udpMtu(DataPlaneConfig config, String peerHost) {
    return isLoopback(peerHost) ? IPC_MTU : config.mtu();
  }

  static boolean isLoopback(String host) {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
  }

  private static String hostOf(String endpoint) {
    int colon = endpoint.lastIndexOf(':');
    return colon < 0 ? endpoint : endpoint.substring(0, colon);
  }
}
