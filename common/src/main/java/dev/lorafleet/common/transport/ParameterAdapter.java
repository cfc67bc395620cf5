package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.NanoClock;

/**
 * Polls the parameter broadcast and assembles each job's newest complete version on the worker
 * side. A version is assembled in a staging array and swapped with the complete one when its last
 * chunk arrives, so after the first two versions no array is allocated.
 *
 * <p>Only jobs this worker {@linkplain #watch watches} are kept; a version whose first chunk was
 * missed (the worker joined mid-broadcast) is skipped and {@link #lastActivityNanos} tells the
 * caller to ask for a re-send. Not thread-safe: the worker's training thread polls.
 */
public final class ParameterAdapter implements ControlledFragmentHandler {

  /** One job's parameter versions. */
  public static final class JobParameters {
    private final String jobId;
    private float[] staging = new float[0];
    private long stagingStep = -1;
    private int stagingPrefix;
    private int stagingSession;
    private int stagingLength;
    private float[] complete = new float[0];
    private long completeStep = -1;
    private int completeLength;
    private long lastActivityNanos;

    JobParameters(String jobId, long nowNanos) {
      this.jobId = jobId;
      this.lastActivityNanos = nowNanos;
    }

    public String jobId() {
      return jobId;
    }

    /** The newest complete version, -1 when none. */
    public long completeStep() {
      return completeStep;
    }

    /** The newest complete values (owned by the adapter; valid until the next poll). */
    public float[] completeValues() {
      return complete;
    }

    public int completeLength() {
      return completeLength;
    }
  }

  private final Long2ObjectHashMap<JobParameters> jobs = new Long2ObjectHashMap<>();
  private final TransportCounters counters;
  private final long maxVectorLength;
  private final NanoClock clock;

  public ParameterAdapter(TransportCounters counters, long maxVectorLength, NanoClock clock) {
    this.counters = counters;
    this.maxVectorLength = maxVectorLength;
    this.clock = clock;
  }

  /** Starts keeping the versions of {@code jobId}; returns its state. */
  public JobParameters watch(String jobId) {
    long key = VectorFrame.key(jobId);
    JobParameters job = jobs.get(key);
    if (job == null) {
      job = new JobParameters(jobId, clock.nanoTime());
      jobs.put(key, job);
    }
    return job;
  }

  /** Stops keeping a job's versions. */
  public void forget(String jobId) {
    jobs.remove(VectorFrame.key(jobId));
  }

  /** When a frame of the job was last taken (or the job first watched). */
  public long lastActivityNanos(JobParameters job) {
    return job.lastActivityNanos;
  }

  /** Whether a version newer than the complete one is being assembled. */
  public boolean isAssembling(JobParameters job) {
    return job.stagingStep > job.completeStep && job.stagingPrefix > 0;
  }

  public int poll(Subscription subscription, int fragmentLimit) {
    return subscription.controlledPoll(this, fragmentLimit);
  }

  @Override
  public Action onFragment(DirectBuffer buffer, int offset, int length, Header header) {
    if (VectorFrame.validate(buffer, offset, length, maxVectorLength) != VectorFrame.Defect.OK
        || VectorFrame.kind(buffer, offset) != VectorFrame.KIND_PARAMETERS) {
      counters.malformed();
      return Action.CONTINUE;
    }
    JobParameters job = jobs.get(VectorFrame.jobKey(buffer, offset));
    if (job == null) {
      counters.unknownJob();
      return Action.CONTINUE;
    }
    long step = VectorFrame.step(buffer, offset);
    int chunkOffset = VectorFrame.chunkOffset(buffer, offset);
    int chunkLength = VectorFrame.chunkLength(buffer, offset);
    int total = (int) VectorFrame.totalLength(buffer, offset);
    if (step == job.completeStep) {
      counters.duplicate();
      return Action.CONTINUE;
    }
    if (step < job.completeStep || step < job.stagingStep) {
      counters.staleStep();
      return Action.CONTINUE;
    }
    if (step > job.stagingStep) {
      if (chunkOffset != 0) {
        counters.staleStep(); // joined mid-broadcast: this version cannot be completed
        return Action.CONTINUE;
      }
      startStaging(job, step, total, header.sessionId());
    }
    if (total != job.stagingLength) {
      counters.malformed();
      return Action.CONTINUE;
    }
    if (chunkOffset < job.stagingPrefix) {
      counters.duplicate();
      return Action.CONTINUE;
    }
    if (chunkOffset > job.stagingPrefix) {
      if (header.sessionId() != job.stagingSession) {
        return Action.ABORT; // a replacement publication overtook the old one's tail: wait for it
      }
      counters.malformed(); // a chunk went missing on this image: the version is lost
      job.stagingStep = -1;
      job.stagingPrefix = 0;
      return Action.CONTINUE;
    }
    if (chunkLength == 0 && total > 0) {
      counters.malformed();
      return Action.CONTINUE;
    }
    // one pass: the checksum is computed while the payload is copied; a bad frame's values land
    // beyond the staged prefix, where the next good frame of that range overwrites them
    if (!VectorFrame.decodeFp32Checked(buffer, offset, length, job.staging)) {
      counters.checksum();
      return Action.CONTINUE;
    }
    job.stagingPrefix += chunkLength;
    job.stagingSession = header.sessionId();
    job.lastActivityNanos = clock.nanoTime();
    counters.accepted(length - VectorFrame.HEADER_LENGTH);
    if (job.stagingPrefix == total) {
      float[] done = job.staging;
      job.staging = job.complete;
      job.complete = done;
      job.completeStep = job.stagingStep;
      job.completeLength = total;
      job.stagingStep = -1;
      job.stagingPrefix = 0;
      job.stagingLength = 0;
    }
    return Action.CONTINUE;
  }

  private static void startStaging(JobParameters job, long step, int total, int sessionId) {
    if (job.staging.length != total) {
      job.staging = new float[total];
    }
    job.stagingStep = step;
    job.stagingPrefix = 0;
    job.stagingLength = total;
    job.stagingSession = sessionId;
  }
}
