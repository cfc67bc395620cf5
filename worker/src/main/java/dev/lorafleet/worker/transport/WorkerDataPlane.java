package dev.lorafleet.worker.transport;

import dev.lorafleet.common.transport.DataPlaneChannels;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.DataPlaneCounters;
import dev.lorafleet.common.transport.DataPlaneDriver;
import dev.lorafleet.common.transport.DataPlaneEndpoints;
import dev.lorafleet.common.transport.DataPlaneException;
import dev.lorafleet.common.transport.ParameterAdapter;
import dev.lorafleet.common.transport.TransportCounters;
import dev.lorafleet.common.transport.VectorPublisher;
import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.time.Duration;
import java.util.Optional;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's side of the data plane: sends this node's gradient sum for a step to the coordinator
 * and receives the adapter parameters the coordinator broadcasts.
 *
 * <pre>{@code
 * try (WorkerDataPlane dataPlane = WorkerDataPlane.connect(
 *     DataPlaneEndpoints.parse(advertised), "gpu-node-3", DataPlaneConfig.defaults().withHost(myIp))) {
 *   AdapterParameters params = dataPlane.awaitParameters(jobId, step, Duration.ofMinutes(5));
 *   ... train the step's share ...
 *   dataPlane.sendGradient(jobId, step, gradientSum, tokens, lossSum, WireDtype.FP32);
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread (the training loop) calls it. Nothing runs in the background
 * except the embedded media driver (UDP): parameters are read while {@code awaitParameters} or
 * {@code pollParameters} runs, and Aeron's flow control holds the coordinator back meanwhile.
 */
public final class WorkerDataPlane implements AutoCloseable {
  /** How long a worker waits, with no parameter frame arriving, before asking again. */
  private static final long REQUEST_INTERVAL_NANOS = Duration.ofMillis(500).toNanos();

  private static final int FRAGMENT_LIMIT = 256;

  private static final Logger LOG = LoggerFactory.getLogger(WorkerDataPlane.class);

  /**
   * This process's Aeron client and the channels it opened; replaced whole when the driver dies.
   */
  private record Link(DataPlaneDriver driver, VectorPublisher gradients, Subscription parameters) {}

  private Link link;
  private final DataPlaneEndpoints endpoints;
  private final DataPlaneConfig config;
  private int driverRestarts;
  private final ParameterAdapter adapter;
  private final TransportCounters counters;
  private final String workerId;
  private final long workerKey;
  private final long sendTimeoutNanos;
  private final NanoClock clock;
  private final IdleStrategy idle = DataPlaneDriver.idleStrategy();
  private final String coordinator;

  private WorkerDataPlane(
      Link link,
      DataPlaneEndpoints endpoints,
      ParameterAdapter adapter,
      TransportCounters counters,
      String workerId,
      DataPlaneConfig config,
      NanoClock clock,
      String coordinator) {
    this.link = link;
    this.endpoints = endpoints;
    this.config = config;
    this.adapter = adapter;
    this.counters = counters;
    this.workerId = workerId;
    this.workerKey = VectorFrame.key(workerId);
    this.sendTimeoutNanos = config.sendTimeout().toNanos();
    this.clock = clock;
    this.coordinator = coordinator;
  }

  /**
   * Starts an embedded media driver (UDP; its own directory, deleted on close) or attaches to the
   * coordinator's (IPC), opens the gradient publication to the coordinator and subscribes to the
   * parameter broadcast. Returns without waiting for the coordinator; sends wait for it.
   *
   * @param workerId this node's id as the coordinator knows it (the one passed to {@code gather})
   * @param config {@code host} is the address the coordinator can reach this worker at; ports are
   *     the coordinator's and not used here
   * @throws DataPlaneException when the driver or a channel cannot start
   */
  public static WorkerDataPlane connect(
      DataPlaneEndpoints coordinator, String workerId, DataPlaneConfig config) {
    DataPlaneDriver driver =
        switch (coordinator.transport()) {
          case UDP -> DataPlaneDriver.launchEmbedded(config, "worker");
          case IPC -> DataPlaneDriver.attach(coordinator.ipcDirectory());
        };
    TransportCounters counters = new TransportCounters();
    Link link = openLink(driver, coordinator, workerId, config, counters);
    NanoClock clock = SystemNanoClock.INSTANCE;
    ParameterAdapter adapter = new ParameterAdapter(counters, config.maxVectorLength(), clock);
    return new WorkerDataPlane(
        link, coordinator, adapter, counters, workerId, config, clock, coordinator.encode());
  }

  /** Opens the gradient publication and the parameter subscription on {@code driver}. */
  private static Link openLink(
      DataPlaneDriver driver,
      DataPlaneEndpoints coordinator,
      String workerId,
      DataPlaneConfig config,
      TransportCounters counters) {
    ExclusivePublication publication = null;
    Subscription subscription = null;
    try {
      String gradientChannel = DataPlaneChannels.gradientPublication(coordinator, config);
      publication =
          driver
              .aeron()
              .addExclusivePublication(gradientChannel, DataPlaneChannels.GRADIENT_STREAM_ID);
      subscription =
          driver
              .aeron()
              .addSubscription(
                  DataPlaneChannels.parameterSubscription(coordinator, config),
                  DataPlaneChannels.PARAMETER_STREAM_ID);
      VectorPublisher gradients =
          new VectorPublisher(
              driver.aeron(),
              publication,
              gradientChannel,
              config.chunkBytes(),
              counters,
              "gradients to the coordinator at " + coordinator.encode());
      return new Link(driver, gradients, subscription);
    } catch (RuntimeException e) {
      CloseHelper.quietCloseAll(subscription, publication, driver);
      throw e instanceof DataPlaneException
          ? e
          : new DataPlaneException(
              "worker "
                  + workerId
                  + " cannot open its data plane to "
                  + coordinator.encode()
                  + ": "
                  + e.getMessage(),
              e);
    }
  }

  /**
   * Starts a new media driver (and client and channels) when this one died: its process-local
   * threads stopped, its directory was deleted, or it stopped answering for the driver timeout.
   * What was being sent or awaited goes on over the new one, so the step in flight is not lost.
   */
  private void ensureDriver(String during) {
    if (link.driver().isAlive()) {
      return;
    }
    String old = link.driver().directory();
    long started = System.nanoTime();
    CloseHelper.quietCloseAll(link.parameters(), link.gradients());
    DataPlaneDriver driver = link.driver().relaunch();
    link = openLink(driver, endpoints, workerId, config, counters);
    driverRestarts++;
    LOG.warn(
        "Worker {}'s Aeron media driver in {} died while {}; a new one in {} took over in {} ms"
            + " and the work goes on.",
        workerId,
        old,
        during,
        driver.directory(),
        (System.nanoTime() - started) / 1_000_000);
  }

  /** How many times this data plane replaced a dead media driver. */
  public int driverRestarts() {
    return driverRestarts;
  }

  /** Whether the media driver is alive now ({@link DataPlaneDriver#isAlive()}). */
  public boolean isDriverAlive() {
    return link.driver().isAlive();
  }

  /** {@code sendGradient} for round 0. */
  public void sendGradient(
      String jobId, long step, float[] sum, long tokenCount, double lossSum, WireDtype dtype) {
    sendGradient(jobId, step, 0, sum, tokenCount, lossSum, dtype);
  }

  /**
   * Sends this node's gradient sum for a step (all of {@code sum}, in chunks), blocking until every
   * chunk is handed to Aeron. Back pressure and a not-yet-connected coordinator are waited out with
   * an idle strategy; the send fails when no chunk went out for {@link
   * DataPlaneConfig#sendTimeout()}. A publication that closed or reached its maximum position is
   * replaced and the send goes on with the next chunk (the coordinator orders the two images).
   *
   * @throws DataPlaneException when the timeout passes; the message names job, step and endpoint
   */
  public void sendGradient(
      String jobId,
      long step,
      int round,
      float[] sum,
      long tokenCount,
      double lossSum,
      WireDtype dtype) {
    String what = "worker " + workerId + ", job " + jobId + ", step " + step;
    ensureDriver("sending the gradient of " + what);
    try {
      send(jobId, step, round, sum, tokenCount, lossSum, dtype, what);
    } catch (RuntimeException e) {
      if (link.driver().isAlive()) {
        throw e;
      }
      // the driver died during the send: the whole vector goes again over a new one (the
      // coordinator adds each chunk once, in order, whichever image brings it, and drops the
      // chunks it already has as duplicates)
      ensureDriver("sending the gradient of " + what + " (" + e.getMessage() + ")");
      send(jobId, step, round, sum, tokenCount, lossSum, dtype, what);
    }
  }

  private void send(
      String jobId,
      long step,
      int round,
      float[] sum,
      long tokenCount,
      double lossSum,
      WireDtype dtype,
      String what) {
    link.gradients()
        .send(
            VectorFrame.KIND_GRADIENT,
            dtype,
            VectorFrame.key(jobId),
            step,
            workerKey,
            round,
            sum,
            sum.length,
            tokenCount,
            lossSum,
            idle,
            clock,
            sendTimeoutNanos,
            what);
  }

  /**
   * Returns the job's parameters of version {@code minStep} or newer, reading the broadcast until
   * they are complete. If this worker has none that new and none is arriving, it asks the
   * coordinator to send its current version again, and asks again every half second while nothing
   * arrives (a late joiner gets the current parameters this way).
   *
   * @throws DataPlaneException when {@code timeout} passes first
   */
  public AdapterParameters awaitParameters(String jobId, long minStep, Duration timeout) {
    ensureDriver("waiting for the parameters of job " + jobId + " step " + minStep);
    ParameterAdapter.JobParameters job = adapter.watch(jobId);
    long start = clock.nanoTime();
    long deadline = start + timeout.toNanos();
    long lastRequest = start - REQUEST_INTERVAL_NANOS;
    idle.reset();
    while (true) {
      int work = adapter.poll(link.parameters(), FRAGMENT_LIMIT);
      if (job.completeStep() >= minStep) {
        return view(job);
      }
      long now = clock.nanoTime();
      boolean quiet = now - adapter.lastActivityNanos(job) > REQUEST_INTERVAL_NANOS;
      if ((!adapter.isAssembling(job) || quiet) && now - lastRequest >= REQUEST_INTERVAL_NANOS) {
        ensureDriver("waiting for the parameters of job " + jobId + " step " + minStep);
        if (link.gradients()
            .trySendEmpty(
                VectorFrame.KIND_PARAMETER_REQUEST, VectorFrame.key(jobId), minStep, workerKey)) {
          lastRequest = now;
        }
      }
      if (now - deadline > 0) {
        throw new DataPlaneException(
            "worker "
                + workerId
                + ", job "
                + jobId
                + ": parameters of step "
                + minStep
                + " or newer did not arrive from "
                + coordinator
                + " within "
                + timeout.toMillis()
                + " ms (newest complete: "
                + (job.completeStep() < 0 ? "none" : "step " + job.completeStep())
                + ")");
      }
      if (work > 0) {
        idle.reset();
      } else {
        idle.idle();
      }
    }
  }

  /** Reads what has arrived without waiting; the newest complete version of the job, if any. */
  public Optional<AdapterParameters> pollParameters(String jobId) {
    ParameterAdapter.JobParameters job = adapter.watch(jobId);
    ensureDriver("reading the parameters of job " + jobId);
    while (adapter.poll(link.parameters(), FRAGMENT_LIMIT) > 0) {
      // drain what is there
    }
    return job.completeStep() < 0 ? Optional.empty() : Optional.of(view(job));
  }

  /** Stops keeping the parameters of a finished job. */
  public void forgetJob(String jobId) {
    adapter.forget(jobId);
  }

  /**
   * Whether both channels are up: the coordinator's broadcast reaches this worker and this worker's
   * gradients reach the coordinator. A broadcast sent before it is true misses this worker, which
   * then asks for a re-send; that re-send travels to every worker and waits, by the broadcast's
   * flow control, until each of them reads again.
   */
  public boolean isConnected() {
    return link.parameters().isConnected() && link.gradients().publication().isConnected();
  }

  /** Totals since {@link #connect}, for metrics. */
  public DataPlaneCounters counters() {
    return counters.snapshot();
  }

  /** This process's media driver directory (for tests and diagnostics). */
  public String driverDirectory() {
    return link.driver().directory();
  }

  /** Closes the channels and the embedded media driver, and deletes its directory. */
  @Override
  public void close() {
    CloseHelper.quietCloseAll(link.parameters(), link.gradients(), link.driver());
  }

  private static AdapterParameters view(ParameterAdapter.JobParameters job) {
    return new AdapterParameters(job.jobId(), job.completeStep(), job.completeValues());
  }
}
