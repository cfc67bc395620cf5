package dev.lorafleet.worker.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Serves one process's metrics at {@code /metrics} on a port of its own, apart from the HTTP API,
 * so that a scrape never waits behind API traffic and the API can require a token while metrics do
 * not. The JVM's own metrics (heap, GC, threads, process CPU and RSS) are added to the registry
 * once.
 *
 * <p>Used by the coordinator and by every worker (the coordinator module depends on this one).
 */
public final class MetricsServer implements AutoCloseable {

  private final HTTPServer server;
  private final String host;

  private MetricsServer(HTTPServer server, String host) {
    this.server = server;
    this.host = host;
  }

  /**
   * Starts serving {@code registry} on {@code host:port}; port 0 picks a free port (see {@link
   * #port()}).
   *
   * @throws UncheckedIOException when the port cannot be bound, naming the address and what to do
   */
  public static MetricsServer start(String host, int port, PrometheusRegistry registry) {
    // JvmMetrics keeps its own per-registry guard, so a second server on the same registry is safe
    JvmMetrics.builder().register(registry);
    try {
      HTTPServer server =
          HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
      return new MetricsServer(server, host);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve metrics on "
              + host
              + ":"
              + port
              + " ("
              + e.getMessage()
              + "); choose a free port with --metrics-port or LORAFLEET_METRICS_PORT",
          e);
    }
  }

  /** The bound port (the real one when started with port 0). */
  public int port() {
    return server.getPort();
  }

  /** The address Prometheus should scrape, e.g. {@code http://127.0.0.1:9400/metrics}. */
  public String url() {
    String shown = host.equals("0.0.0.0") ? "127.0.0.1" : host;
    return "http://" + shown + ":" + port() + "/metrics";
  }

  @Override
  public void close() {
    server.close();
  }
}
