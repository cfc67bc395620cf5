package dev.lorafleet.common.transport;

/**
 * Running totals of what a data plane received, sent and refused, for metrics (read at scrape
 * time). Each dropped frame is counted once, under the first reason found.
 *
 * @param framesAccepted valid frames added to a sum or a parameter vector
 * @param bytesAccepted payload bytes of those frames
 * @param droppedDuplicate a chunk that had already been added (replay, re-send)
 * @param droppedStaleStep a frame for a step or version older than the one being gathered
 * @param droppedUnknownJob a frame for a job that nothing is gathering or receiving
 * @param droppedUnknownWorker a gradient from a worker not expected at that step
 * @param droppedMalformed a frame too short, with a bad magic or dtype, or whose declared lengths
 *     disagree with its size or with the vector being gathered
 * @param droppedChecksum a frame whose CRC-32C does not match its content
 * @param sendRetries offers that met back pressure or an admin action and were retried
 * @param publicationsRecreated publications replaced after they closed or reached max position
 */
public record DataPlaneCounters(
    long framesAccepted,
    long bytesAccepted,
    long droppedDuplicate,
    long droppedStaleStep,
    long droppedUnknownJob,
    long droppedUnknownWorker,
    long droppedMalformed,
    long droppedChecksum,
    long sendRetries,
    long publicationsRecreated) {

  /** All frames dropped for any reason. */
  public long dropped() {
    return droppedDuplicate
        + droppedStaleStep
        + droppedUnknownJob
        + droppedUnknownWorker
        + droppedMalformed
        + droppedChecksum;
  }
}
