package dev.lorafleet.coordinator.api;

import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;

/** A real {@link ApiServer} on a free loopback port, serving a {@link TestingJobService}. */
public final class ApiTestServer implements AutoCloseable {
  public final TestingJobService service = new TestingJobService();
  public final ActorSystem<Void> system;
  private final ServerBinding binding;

  public ApiTestServer(ApiSettings settings) throws Exception {
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "api-test",
            ConfigFactory.parseString(
                    "pekko.loglevel = WARNING\npekko.http.server.request-timeout = 10s")
                .withFallback(ConfigFactory.load()));
    binding =
        ApiServer.start(system, service, settings).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  public ApiTestServer() throws Exception {
    this(ApiSettings.of("127.0.0.1", 0));
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  @Override
  public void close() throws ExecutionException, TimeoutException {
    try {
      binding.terminate(Duration.ofSeconds(1)).toCompletableFuture().get(10, TimeUnit.SECONDS);
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping the test API server", e);
    }
  }
}
