package dev.lorafleet.common.protocol;

import java.util.Objects;

/**
 * What a worker announces when it joins: who it is, what it can compute, and where its data plane
 * listens.
 *
 * @param workerId unique per worker process (node name plus a per-process suffix)
 * @param nodeName the machine (Kubernetes node or host name), for messages and cost
 * @param deviceCount GPUs (or 1 for a CPU-only worker) the worker trains on
 * @param deviceKind e.g. {@code "cuda"} or {@code "cpu"}
 * @param dataPlaneEndpoint the Aeron endpoint ({@code host:port}) the worker receives on
 */
public record WorkerInfo(
    String workerId, String nodeName, int deviceCount, String deviceKind, String dataPlaneEndpoint)
    implements ControlMessage {
  public WorkerInfo {
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(nodeName, "nodeName");
    Objects.requireNonNull(deviceKind, "deviceKind");
    Objects.requireNonNull(dataPlaneEndpoint, "dataPlaneEndpoint");
    if (deviceCount < 1) {
      throw new IllegalArgumentException(
          "worker " + workerId + " announced " + deviceCount + " devices; at least 1 is needed");
    }
  }
}
