package dev.lorafleet.worker.cluster;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How this worker node presents itself and where it keeps its files.
 *
 * @param workerId unique per worker process
 * @param nodeName the machine's name (for messages and cost)
 * @param deviceCount devices it trains on
 * @param deviceKind {@code cuda} or {@code cpu}
 * @param dataPlaneHost the address the coordinator reaches this worker's data plane at
 * @param cacheDir where received datasets are cached by content hash
 * @param parameterTimeout how long a step waits for its adapter parameters
 */
public record WorkerSettings(
    String workerId,
    String nodeName,
    int deviceCount,
    String deviceKind,
    String dataPlaneHost,
    Path cacheDir,
    Duration parameterTimeout) {}
