package dev.lorafleet.common.transport;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The live counters behind {@link DataPlaneCounters}. One thread writes (the agent, or a worker's
 * training thread), any thread reads: increments are plain read-then-release-store, no CAS on the
 * hot path.
 */
public final class TransportCounters {
  private final AtomicLong framesAccepted = new AtomicLong();
  private final AtomicLong bytesAccepted = new AtomicLong();
  private final AtomicLong droppedDuplicate = new AtomicLong();
  private final AtomicLong droppedStaleStep = new AtomicLong();
  private final AtomicLong droppedUnknownJob = new AtomicLong();
  private final AtomicLong droppedUnknownWorker = new AtomicLong();
  private final AtomicLong droppedMalformed = new AtomicLong();
  private final AtomicLong droppedChecksum = new AtomicLong();
  private final AtomicLong sendRetries = new AtomicLong();
  private final AtomicLong publicationsRecreated = new AtomicLong();

  void accepted(int payloadBytes) {
    bump(framesAccepted, 1);
    bump(bytesAccepted, payloadBytes);
  }

  void duplicate() {
    bump(droppedDuplicate, 1);
  }

  void staleStep() {
    bump(droppedStaleStep, 1);
  }

  void unknownJob() {
    bump(droppedUnknownJob, 1);
  }

  void unknownWorker() {
    bump(droppedUnknownWorker, 1);
  }

  void malformed() {
    bump(droppedMalformed, 1);
  }

  void checksum() {
    bump(droppedChecksum, 1);
  }

  void sendRetry() {
    bump(sendRetries, 1);
  }

  void publicationRecreated() {
    bump(publicationsRecreated, 1);
  }

  /** A consistent-enough copy for metrics (each field is read once). */
  public DataPlaneCounters snapshot() {
    return new DataPlaneCounters(
        framesAccepted.get(),
        bytesAccepted.get(),
        droppedDuplicate.get(),
        droppedStaleStep.get(),
        droppedUnknownJob.get(),
        droppedUnknownWorker.get(),
        droppedMalformed.get(),
        droppedChecksum.get(),
        sendRetries.get(),
        publicationsRecreated.get());
  }

  private static void bump(AtomicLong counter, long delta) {
    counter.lazySet(counter.get() + delta);
  }
}
