package dev.lorafleet.common.transport;

import dev.lorafleet.common.transport.DataPlaneConfig.Transport;
import java.util.Objects;

/**
 * What a coordinator advertises to its workers (through the control plane) so that they can reach
 * its data plane. {@link #encode()} gives one string for a message field, a flag or an environment
 * variable; {@link #parse(String)} reads it back.
 *
 * @param transport UDP or IPC
 * @param gradientEndpoint UDP {@code host:port} where the coordinator receives gradients; for IPC
 *     unused (empty)
 * @param parameterControlEndpoint UDP {@code host:port} of the parameter broadcast's control
 *     endpoint (multi-destination-cast, dynamic control mode); for IPC unused (empty)
 * @param ipcDirectory for IPC, the coordinator's media driver directory that workers on the same
 *     machine attach to; for UDP empty
 */
public record DataPlaneEndpoints(
    Transport transport,
    String gradientEndpoint,
    String parameterControlEndpoint,
    String ipcDirectory) {

  public DataPlaneEndpoints {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(gradientEndpoint, "gradientEndpoint");
    Objects.requireNonNull(parameterControlEndpoint, "parameterControlEndpoint");
    Objects.requireNonNull(ipcDirectory, "ipcDirectory");
  }

  public static DataPlaneEndpoints udp(String gradientEndpoint, String parameterControlEndpoint) {
    return new DataPlaneEndpoints(Transport.UDP, gradientEndpoint, parameterControlEndpoint, "");
  }

  public static DataPlaneEndpoints ipc(String driverDirectory) {
    return new DataPlaneEndpoints(Transport.IPC, "", "", driverDirectory);
  }

  /**
   * One line: {@code udp:HOST:PORT,HOST:PORT} (gradients, parameter control) or {@code
   * ipc:DIRECTORY}.
   */
  public String encode() {
    return switch (transport) {
      case UDP -> "udp:" + gradientEndpoint + "," + parameterControlEndpoint;
      case IPC -> "ipc:" + ipcDirectory;
    };
  }

  /** Reads what {@link #encode()} wrote; a malformed string gets an error that shows the form. */
  public static DataPlaneEndpoints parse(String text) {
    if (text != null && text.startsWith("ipc:") && text.length() > 4) {
      return ipc(text.substring(4));
    }
    if (text != null && text.startsWith("udp:")) {
      String[] parts = text.substring(4).split(",", -1);
      if (parts.length == 2 && isHostPort(parts[0]) && isHostPort(parts[1])) {
        return udp(parts[0], parts[1]);
      }
    }
    throw new IllegalArgumentException(
        "data plane endpoints '"
            + text
            + "' are not of the form udp:HOST:PORT,HOST:PORT or ipc:DIRECTORY");
  }

  private static boolean isHostPort(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      return false;
    }
    try {
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      return port > 0 && port <= 65535;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
