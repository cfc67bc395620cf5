package dev.lorafleet.worker.cluster;

import java.time.Duration;

/**
 * The worker's end of the data plane as the worker actor needs it (the Aeron {@code
 * WorkerDataPlane} in production): receive the adapter of a step, send a gradient sum. Blocking;
 * called on the compute executor only.
 */
public interface WorkerExchange extends AutoCloseable {
  /** The job's parameters of version {@code step} (or newer); a copy the caller may keep. */
  float[] awaitParameters(String jobId, long step, Duration timeout);

  void sendGradient(String jobId, long step, int round, float[] sum, long tokens, double lossSum);

  @Override
  void close();

  /** Connects to a coordinator's advertised data-plane endpoints. */
  @FunctionalInterface
  interface Factory {
    WorkerExchange connect(String coordinatorEndpoints, String workerId);
  }
}
