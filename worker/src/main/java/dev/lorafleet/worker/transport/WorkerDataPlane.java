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

  private final DataPlaneDriver driver;
  private final VectorPublisher gradients;
  private final Subscription parameters;
  private final ParameterAdapter adapter;
  private final TransportCounters counters;
  private final String workerId;
  private final long workerKey;
  private final long sendTimeoutNanos;
  private final NanoClock clock;
  private final IdleStrategy idle = DataPlaneDriver.idleStrategy();
  private final String coordinator;

  private WorkerDataPlane(
      DataPlaneDriver driver,
      VectorPublisher gradients,
      Subscription parameters,
      ParameterAdapter adapter,
      TransportCounters counters,
      String workerId,
      DataPlaneConfig config,
      NanoClock clock,
      String coordinator) {
    this.driver = driver;
    this.gradients = gradients;
    this.parameters = parameters;
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
      TransportCounters counters = new TransportCounters();
      VectorPublisher gradients =
          new VectorPublisher(
              driver.aeron(),
              publication,
              gradientChannel,
              config.chunkBytes(),
              counters,
              "gradients to the coordinator at " + coordinator.encode());
      NanoClock clock = SystemNanoClock.INSTANCE;
      ParameterAdapter adapter = new ParameterAdapter(counters, config.maxVectorLength(), clock);
      return new WorkerDataPlane(
          driver,
          gradients,
          subscription,
          adapter,
          counters,
          workerId,
          config,
          clock,
          coordinator.encode());
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
    gradients.send(
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
        "worker " + workerId + ", job " + jobId + ", step " + step);
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
    ParameterAdapter.JobParameters job = adapter.watch(jobId);
    long start = clock.nanoTime();
    long deadline = start + timeout.toNanos();
    long lastRequest = start - REQUEST_INTERVAL_NANOS;
    idle.reset();
    while (true) {
      int work = adapter.poll(parameters, FRAGMENT_LIMIT);
      if (job.completeStep() >= minStep) {
        return view(job);
      }
      long now = clock.nanoTime();
      boolean quiet = now - adapter.lastActivityNanos(job) > REQUEST_INTERVAL_NANOS;
      if ((!adapter.isAssembling(job) || quiet) && now - lastRequest >= REQUEST_INTERVAL_NANOS) {
        if (gradients.trySendEmpty(
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
    while (adapter.poll(parameters, FRAGMENT_LIMIT) > 0) {
      // drain what is there
    }
    return job.completeStep() < 0 ? Optional.empty() : Optional.of(view(job));
  }

  /** Stops keeping the parameters of a finished job. */
  public void forgetJob(String jobId) {
    adapter.forget(jobId);
  }

  /** Totals since {@link #connect}, for metrics. */
  public DataPlaneCounters counters() {
    return counters.snapshot();
  }

  /** This process's media driver directory (for tests and diagnostics). */
  public String driverDirectory() {
    return driver.directory();
  }

  /** Closes the channels and the embedded media driver, and deletes its directory. */
  @Override
  public void close() {
    CloseHelper.quietCloseAll(parameters, gradients, driver);
  }

  private static AdapterParameters view(ParameterAdapter.JobParameters job) {
    return new AdapterParameters(job.jobId(), job.completeStep(), job.completeValues());
  }
}
