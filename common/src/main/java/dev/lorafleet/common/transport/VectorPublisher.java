package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.Aeron;
import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import org.agrona.CloseHelper;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

/**
 * Encodes a float vector into {@link VectorFrame} chunks and offers them on one exclusive
 * publication, each chunk zero-copy through {@code tryClaim} (a chunk always fits one Aeron frame,
 * so no reassembly copy is needed on the receiving side either).
 *
 * <p>Two ways to drive it: {@link #progress(int)} never blocks (the coordinator's agent calls it
 * from its duty cycle) and {@link #send} blocks the calling thread with an idle strategy until the
 * vector is out or no progress was made for the timeout (a worker's training thread). Every claim
 * result is handled: back pressure and admin actions are retried, "not connected" is reported to
 * the caller (who decides whether to wait), and a closed publication or one that reached its
 * maximum position is replaced by a fresh one on the same channel, continuing with the same chunk.
 *
 * <p>Not thread-safe: one thread drives it.
 */
public final class VectorPublisher implements AutoCloseable {

  /** Where a vector in progress stands after {@link #progress(int)}. */
  public enum Progress {
    /** Every chunk is out (or no vector was begun). */
    DONE,
    /** Some chunks were sent, more remain. */
    SENDING,
    /** No chunk went out: the receiver's window is full, try again later. */
    BACK_PRESSURED,
    /** No receiver is connected. */
    NOT_CONNECTED
  }

  private final Aeron aeron;
  private final String recreateChannel;
  private final int streamId;
  private final int maxChunkBytes;
  private final TransportCounters counters;
  private final String description;
  private final BufferClaim claim = new BufferClaim();
  private ExclusivePublication publication;

  private float[] values;
  private int length;
  private byte kind;
  private WireDtype dtype;
  private long jobKey;
  private long step;
  private long senderKey;
  private int round;
  private long tokenCount;
  private double lossSum;
  private int chunkElements;
  private int nextOffset;
  private int sequence;
  private boolean active;

  /**
   * @param publication the publication to start with (already added)
   * @param recreateChannel the channel a replacement publication is added on: the publication's own
   *     with any bound ports resolved and without initial-position parameters
   * @param maxChunkBytes payload bytes per chunk; 0 or more than fits one frame means one full
   *     frame
   * @param description what and where, for error messages ("gradients to 10.0.0.1:40123")
   */
  public VectorPublisher(
      Aeron aeron,
      ExclusivePublication publication,
      String recreateChannel,
      int maxChunkBytes,
      TransportCounters counters,
      String description) {
    this.aeron = aeron;
    this.publication = publication;
    this.recreateChannel = withoutInitialPosition(recreateChannel);
    this.streamId = publication.streamId();
    this.maxChunkBytes = maxChunkBytes;
    this.counters = counters;
    this.description = description;
  }

  /** A channel string without the parameters that place a new publication at a given position. */
  public static String withoutInitialPosition(String channel) {
    ChannelUri uri = ChannelUri.parse(channel);
    uri.remove(CommonContext.INITIAL_TERM_ID_PARAM_NAME);
    uri.remove(CommonContext.TERM_ID_PARAM_NAME);
    uri.remove(CommonContext.TERM_OFFSET_PARAM_NAME);
    return uri.toString();
  }

  public ExclusivePublication publication() {
    return publication;
  }

  /**
   * Starts a vector: {@code values[0, length)} in {@code dtype}. The array is read while the vector
   * is sent and must not change until {@link #progress} returns {@link Progress#DONE}. A vector
   * still in progress is abandoned.
   */
  public void begin(
      byte kind,
      WireDtype dtype,
      long jobKey,
      long step,
      long senderKey,
      int round,
      float[] values,
      int length,
      long tokenCount,
      double lossSum) {
    this.kind = kind;
    this.dtype = dtype;
    this.jobKey = jobKey;
    this.step = step;
    this.senderKey = senderKey;
    this.round = round;
    this.values = values;
    this.length = length;
    this.tokenCount = tokenCount;
    this.lossSum = lossSum;
    this.nextOffset = 0;
    this.sequence = 0;
    this.active = true;
    this.chunkElements = chunkElements(dtype);
  }

  /** Elements per chunk for {@code dtype} with this publication's MTU and the configured size. */
  public int chunkElements(WireDtype dtype) {
    int frameBytes = publication.maxPayloadLength();
    if (maxChunkBytes > 0) {
      frameBytes = Math.min(frameBytes, maxChunkBytes + VectorFrame.HEADER_LENGTH);
    }
    return VectorFrame.maxChunkElements(dtype, frameBytes);
  }

  /** Drops the vector in progress (a newer one replaces it). */
  public void abandon() {
    active = false;
    values = null;
  }

  public boolean isActive() {
    return active;
  }

  /** Job key of the vector in progress. */
  public long jobKey() {
    return jobKey;
  }

  /** Step of the vector in progress. */
  public long step() {
    return step;
  }

  /**
   * Offers up to {@code maxChunks} chunks without blocking.
   *
   * @throws DataPlaneException when a closed or exhausted publication cannot be replaced
   */
  public Progress progress(int maxChunks) {
    if (!active) {
      return Progress.DONE;
    }
    int sent = 0;
    while (sent < maxChunks) {
      int count = Math.min(chunkElements, length - nextOffset);
      int frameLength = VectorFrame.frameLength(dtype, count);
      long result = publication.tryClaim(frameLength, claim);
      if (result > 0) {
        MutableDirectBuffer buffer = claim.buffer();
        int offset = claim.offset();
        VectorFrame.encodeHeader(
            buffer,
            offset,
            kind,
            dtype,
            jobKey,
            step,
            senderKey,
            round,
            sequence,
            length,
            nextOffset,
            count,
            tokenCount,
            lossSum);
        if (dtype == WireDtype.FP32) {
          VectorFrame.encodeFp32Sealed(buffer, offset, values, nextOffset, count);
        } else {
          VectorFrame.encodePayload(buffer, offset, dtype, values, nextOffset, count);
          VectorFrame.sealChecksum(buffer, offset, frameLength);
        }
        claim.commit();
        sent++;
        sequence++;
        nextOffset += count;
        if (nextOffset >= length) {
          abandon();
          return Progress.DONE;
        }
      } else if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
        counters.sendRetry();
        break;
      } else if (result == Publication.NOT_CONNECTED) {
        return sent > 0 ? Progress.SENDING : Progress.NOT_CONNECTED;
      } else if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) {
        replacePublication(result);
      } else {
        throw new DataPlaneException(
            "unexpected result " + result + " from Aeron tryClaim for " + description);
      }
    }
    return sent > 0 ? Progress.SENDING : Progress.BACK_PRESSURED;
  }

  /**
   * Sends a whole vector, blocking until every chunk is out. Waits out back pressure and a peer
   * that is not connected yet with {@code idle}; gives up when no chunk went out for {@code
   * timeoutNs}.
   *
   * @throws DataPlaneException naming the vector and the endpoint when the timeout passes
   */
  public void send(
      byte kind,
      WireDtype dtype,
      long jobKey,
      long step,
      long senderKey,
      int round,
      float[] values,
      int length,
      long tokenCount,
      double lossSum,
      IdleStrategy idle,
      NanoClock clock,
      long timeoutNs,
      String what) {
    begin(kind, dtype, jobKey, step, senderKey, round, values, length, tokenCount, lossSum);
    long lastProgress = clock.nanoTime();
    idle.reset();
    while (true) {
      Progress progress = progress(64);
      if (progress == Progress.DONE) {
        return;
      }
      long now = clock.nanoTime();
      if (progress == Progress.SENDING) {
        lastProgress = now;
        idle.reset();
        continue;
      }
      if (now - lastProgress > timeoutNs) {
        int sentElements = nextOffset;
        abandon();
        throw new DataPlaneException(
            what
                + ": no progress for "
                + timeoutNs / 1_000_000
                + " ms sending "
                + description
                + " ("
                + (progress == Progress.NOT_CONNECTED
                    ? "the receiver is not connected; is it running and reachable?"
                    : "the receiver stays back-pressured")
                + "; "
                + sentElements
                + " of "
                + length
                + " elements sent)");
      }
      idle.idle();
    }
  }

  /** Offers one frame without payload (a parameter request); false if it could not go out now. */
  public boolean trySendEmpty(byte kind, long jobKey, long step, long senderKey) {
    int frameLength = VectorFrame.HEADER_LENGTH;
    long result = publication.tryClaim(frameLength, claim);
    if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) {
      replacePublication(result);
      return false;
    }
    if (result <= 0) {
      return false;
    }
    VectorFrame.encodeHeader(
        claim.buffer(),
        claim.offset(),
        kind,
        WireDtype.FP32,
        jobKey,
        step,
        senderKey,
        0,
        0,
        0,
        0,
        0,
        0,
        0.0);
    VectorFrame.sealChecksum(claim.buffer(), claim.offset(), frameLength);
    claim.commit();
    return true;
  }

  private void replacePublication(long result) {
    String why = result == Publication.CLOSED ? "was closed" : "reached its maximum position";
    CloseHelper.quietClose(publication);
    try {
      publication = aeron.addExclusivePublication(recreateChannel, streamId);
    } catch (RuntimeException e) {
      throw new DataPlaneException(
          "the publication for "
              + description
              + " "
              + why
              + " and a replacement on "
              + recreateChannel
              + " could not be added: "
              + e.getMessage(),
          e);
    }
    counters.publicationRecreated();
  }

  @Override
  public void close() {
    CloseHelper.quietClose(publication);
  }
}
