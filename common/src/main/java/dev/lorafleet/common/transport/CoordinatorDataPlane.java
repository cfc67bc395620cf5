package dev.lorafleet.common.transport;

import dev.lorafleet.common.transport.DataPlaneConfig.Transport;
import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's side of the data plane: gathers the summed adapter gradient of every worker
 * each step and broadcasts the new adapter parameters. Gradients and parameters travel over Aeron
 * (UDP between machines, IPC on one machine), never over the Pekko control plane.
 *
 * <p>Usage, from the job's actor:
 *
 * <pre>{@code
 * CoordinatorDataPlane dataPlane = CoordinatorDataPlane.open(DataPlaneConfig.defaults().withHost(host));
 * String endpoints = dataPlane.endpoints().encode();      // send to workers when they join
 * // each step: first gather, THEN tell the workers to compute (so no frame arrives unexpected)
 * CompletableFuture<GatherResult> f = dataPlane.gather(jobId, step, workerIds, layoutLength, deadline);
 * context.pipeToSelf(f, (result, error) -> new GradientsGathered(result, error));
 * ... optimizer step ...
 * dataPlane.recycle(jobId, result.sum());               // optional: the next gather sums into it
 * dataPlane.broadcast(jobId, step + 1, parameters);      // every worker receives them; no copy
 * }</pre>
 *
 * <p>All methods are thread-safe and never block on the network: they hand a command to the
 * data-plane agent's thread ({@link CoordinatorAgent}) through a {@link CoordinatorProxy} and
 * return a future. Futures complete on that thread; attach callbacks that return quickly (Pekko's
 * {@code pipeToSelf} does).
 */
public final class CoordinatorDataPlane implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorDataPlane.class);

  private final DataPlaneDriver driver;
  private final Subscription gradients;
  private final VectorPublisher parameters;
  private final AgentRunner runner;
  private final CoordinatorProxy proxy;
  private final TransportCounters counters;
  private final DataPlaneEndpoints endpoints;

  private CoordinatorDataPlane(
      DataPlaneDriver driver,
      Subscription gradients,
      VectorPublisher parameters,
      AgentRunner runner,
      CoordinatorProxy proxy,
      TransportCounters counters,
      DataPlaneEndpoints endpoints) {
    this.driver = driver;
    this.gradients = gradients;
    this.parameters = parameters;
    this.runner = runner;
    this.proxy = proxy;
    this.counters = counters;
    this.endpoints = endpoints;
  }

  /**
   * Starts this process's embedded media driver (its own directory under {@link
   * DataPlaneConfig#driverDirectoryParent()}, deleted on {@link #close()}), the gradient
   * subscription and the parameter publication, and the agent thread.
   *
   * @throws DataPlaneException when the driver or a channel cannot start (port taken, directory not
   *     writable); the message names the port or path
   */
  public static CoordinatorDataPlane open(DataPlaneConfig config) {
    DataPlaneDriver driver = DataPlaneDriver.launchEmbedded(config, "coordinator");
    Subscription gradients = null;
    ExclusivePublication publication = null;
    try {
      String gradientChannel = DataPlaneChannels.gradientSubscription(config);
      gradients =
          driver.aeron().addSubscription(gradientChannel, DataPlaneChannels.GRADIENT_STREAM_ID);
      String parameterChannel =
          DataPlaneChannels.parameterPublication(config, config.parameterPort());
      publication =
          driver
              .aeron()
              .addExclusivePublication(parameterChannel, DataPlaneChannels.PARAMETER_STREAM_ID);
      DataPlaneEndpoints endpoints;
      String recreateChannel;
      if (config.transport() == Transport.UDP) {
        String gradientEndpoint = resolvedEndpoint(gradients, config);
        String controlEndpoint = resolvedControl(publication, config);
        endpoints = DataPlaneEndpoints.udp(gradientEndpoint, controlEndpoint);
        ChannelUri uri = ChannelUri.parse(parameterChannel);
        uri.put(CommonContext.MDC_CONTROL_PARAM_NAME, controlEndpoint);
        recreateChannel = uri.toString();
      } else {
        endpoints = DataPlaneEndpoints.ipc(driver.directory());
        recreateChannel = parameterChannel;
      }
      TransportCounters counters = new TransportCounters();
      VectorPublisher parameters =
          new VectorPublisher(
              driver.aeron(),
              publication,
              recreateChannel,
              config.chunkBytes(),
              counters,
              "parameters to the workers via " + endpoints.encode());
      ManyToOneConcurrentArrayQueue<CoordinatorCommand> queue =
          new ManyToOneConcurrentArrayQueue<>(1024);
      NanoClock clock = SystemNanoClock.INSTANCE;
      CoordinatorAgent agent =
          new CoordinatorAgent(gradients, parameters, queue, clock, counters, config);
      AgentRunner runner =
          new AgentRunner(
              DataPlaneDriver.idleStrategy(),
              error -> LOG.error("The coordinator's data plane agent failed.", error),
              null,
              agent);
      AgentRunner.startOnThread(runner);
      LOG.info("Coordinator data plane listening at {}.", endpoints.encode());
      return new CoordinatorDataPlane(
          driver,
          gradients,
          parameters,
          runner,
          new CoordinatorProxy(queue, clock, () -> LockSupport.unpark(runner.thread())),
          counters,
          endpoints);
    } catch (RuntimeException e) {
      CloseHelper.quietCloseAll(publication, gradients, driver);
      throw e instanceof DataPlaneException
          ? e
          : new DataPlaneException(
              "cannot open the coordinator's data plane on "
                  + config.host()
                  + " ports "
                  + config.gradientPort()
                  + "/"
                  + config.parameterPort()
                  + ": "
                  + e.getMessage(),
              e);
    }
  }

  /** What workers need to reach this data plane; advertise {@code endpoints().encode()}. */
  public DataPlaneEndpoints endpoints() {
    return endpoints;
  }

  /**
   * Starts gathering round 0 of a step. Same as {@code gather(jobId, step, 0, workerIds, length,
   * deadline)}.
   */
  public CompletableFuture<GatherResult> gather(
      String jobId, long step, Collection<String> workerIds, int length, Duration deadline) {
    return gather(jobId, step, 0, workerIds, length, deadline);
  }

  /**
   * Starts gathering one vector of {@code length} elements from each of {@code workerIds} for
   * {@code (jobId, step, round)}. Call it before the workers are told to compute the step. Chunks
   * are added into one fp32 accumulator as they arrive, in a fixed order (workers sorted by id), so
   * the sum is bitwise independent of arrival order ({@link GradientReducer}). Duplicate, stale,
   * unknown-job, unknown-worker, malformed and checksum-failing frames are dropped and counted
   * ({@link #counters()}).
   *
   * <p>A new gather for a job replaces that job's previous one (an unfinished previous gather
   * completes as {@link GatherResult.TimedOut}). Several jobs may gather at once.
   *
   * @param round 0 normally; a higher round when the coordinator gathers a step again (for example
   *     the share of a worker that died); frames of older rounds are then dropped as stale
   * @param deadline from now; when it passes the future completes with {@link
   *     GatherResult.TimedOut} naming the incomplete and the silent workers
   * @return completes with {@link GatherResult.Complete} or {@link GatherResult.TimedOut}; fails
   *     only when the data plane is closed or the arguments are invalid
   */
  public CompletableFuture<GatherResult> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline) {
    return proxy.gather(jobId, step, round, workerIds, length, deadline);
  }

  /**
   * Sends the adapter parameters for {@code step} to every worker of the job that listens now, and
   * keeps them: a worker that connects later (or asks again) receives this version too, until a
   * newer one is broadcast. The array is not copied (a 40M-element adapter is 160 MB, copied on the
   * step's critical path): the data plane reads it until its agent takes up the job's next
   * broadcast (or {@link #endJob}). The caller must not change it before something it asked after
   * that next broadcast has completed: the next broadcast's future, or a gather started after it.
   * The optimizer ({@code AdamW}) writes each step into the other of two arrays for this reason: it
   * overwrites an array only after the next step's gather completed.
   *
   * @return completes when every chunk has been handed to Aeron, or no worker is connected at all
   *     (delivery is Aeron's job from there; workers wait for the version they need, and ask for it
   *     if they missed it), or a newer version of the job superseded it; fails with {@link
   *     DataPlaneException} if the broadcast makes no progress for {@link
   *     DataPlaneConfig#sendTimeout()}
   */
  public CompletableFuture<Void> broadcast(String jobId, long step, float[] parameters) {
    return proxy.broadcast(jobId, step, parameters);
  }

  /**
   * Gives a gathered sum ({@link ReducedGradient#sum()}) back once the caller no longer reads it:
   * the job's next gather of the same length sums into it instead of a new array. Optional, and
   * worth it for large adapters: a new 40M-element sum is 160 MB the JVM zeroes on the data-plane
   * thread, every step. The caller must not touch the array afterwards.
   */
  public void recycle(String jobId, float[] sum) {
    proxy.recycle(jobId, sum);
  }

  /** Forgets a finished job: its pending gather is cancelled and its parameter copy released. */
  public void endJob(String jobId) {
    proxy.endJob(jobId);
  }

  /** Totals since {@link #open}, for metrics; cheap enough for every scrape. */
  public DataPlaneCounters counters() {
    return counters.snapshot();
  }

  /**
   * The media driver's non-zero system counters whose label contains any of {@code words} (case
   * ignored), for diagnostics: "label=value, …".
   */
  public String driverCounters(String... words) {
    StringBuilder text = new StringBuilder();
    driver
        .aeron()
        .countersReader()
        .forEach(
            (value, typeId, label) -> {
              String lower = label.toLowerCase(java.util.Locale.ROOT);
              for (String word : words) {
                if (value != 0 && lower.contains(word.toLowerCase(java.util.Locale.ROOT))) {
                  text.append(text.length() == 0 ? "" : ", ")
                      .append(label)
                      .append('=')
                      .append(value);
                  return;
                }
              }
            });
    return text.toString();
  }

  /** The media driver's directory (for tests and diagnostics). */
  public String driverDirectory() {
    return driver.directory();
  }

  /**
   * Stops the agent, fails pending futures with {@link DataPlaneException}, closes the channels and
   * the media driver and deletes its directory.
   */
  @Override
  public void close() {
    CloseHelper.quietCloseAll(runner, parameters, gradients, driver);
  }

  private static String resolvedEndpoint(Subscription subscription, DataPlaneConfig config) {
    String address = awaitAddresses(subscription::localSocketAddresses, "gradient").get(0);
    return config.host() + address.substring(address.lastIndexOf(':'));
  }

  private static String resolvedControl(ExclusivePublication publication, DataPlaneConfig config) {
    List<String> addresses = awaitAddresses(publication::localSocketAddresses, "parameter control");
    String address = addresses.get(0);
    int colon = address.lastIndexOf(':');
    return config.host() + address.substring(colon);
  }

  private static List<String> awaitAddresses(
      java.util.function.Supplier<List<String>> addresses, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    BackoffIdleStrategy idle = new BackoffIdleStrategy();
    while (true) {
      List<String> bound = addresses.get();
      if (!bound.isEmpty()) {
        return bound;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new DataPlaneException(
            "the media driver did not bind the " + what + " endpoint within 10 s");
      }
      idle.idle();
    }
  }
}
