package dev.lorafleet.coordinator.api;

import dev.lorafleet.common.spec.PathPolicy;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How the HTTP API listens and what it accepts.
 *
 * @param host the address to bind ({@code 0.0.0.0} for every interface)
 * @param port the port; 0 picks a free one (tests)
 * @param maxBodyBytes larger request bodies are refused with 413 (default 1 MiB)
 * @param bearerToken when present, every {@code /api} call needs {@code Authorization: Bearer …}
 * @param serviceTimeout how long a call waits for the coordinator's answer before a 503
 * @param pathPolicy which file paths a submitted spec may name
 */
public record ApiSettings(
    String host,
    int port,
    long maxBodyBytes,
    Optional<String> bearerToken,
    Duration serviceTimeout,
    PathPolicy pathPolicy) {
  public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;
  public static final Duration DEFAULT_SERVICE_TIMEOUT = Duration.ofSeconds(15);

  public ApiSettings {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(bearerToken, "bearerToken");
    Objects.requireNonNull(serviceTimeout, "serviceTimeout");
    Objects.requireNonNull(pathPolicy, "pathPolicy");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("HTTP port must be between 0 and 65535, got " + port);
    }
    if (maxBodyBytes <= 0 || maxBodyBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "maximum request body must be between 1 byte and 2 GiB, got " + maxBodyBytes);
    }
  }

  /**
   * Listens on {@code host:port}, 1 MiB bodies, no token, absolute spec paths anywhere (a
   * coordinator has no working directory to resolve relative ones against).
   */
  public static ApiSettings of(String host, int port) {
    return new ApiSettings(
        host,
        port,
        DEFAULT_MAX_BODY_BYTES,
        Optional.empty(),
        DEFAULT_SERVICE_TIMEOUT,
        PathPolicy.absoluteOnly());
  }

  public ApiSettings withBearerToken(String token) {
    return new ApiSettings(
        host, port, maxBodyBytes, Optional.of(token), serviceTimeout, pathPolicy);
  }

  public ApiSettings withMaxBodyBytes(long bytes) {
    return new ApiSettings(host, port, bytes, bearerToken, serviceTimeout, pathPolicy);
  }

  public ApiSettings withServiceTimeout(Duration timeout) {
    return new ApiSettings(host, port, maxBodyBytes, bearerToken, timeout, pathPolicy);
  }

  public ApiSettings withPathPolicy(PathPolicy policy) {
    return new ApiSettings(host, port, maxBodyBytes, bearerToken, serviceTimeout, policy);
  }
}
