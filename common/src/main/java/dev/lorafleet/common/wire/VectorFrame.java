package dev.lorafleet.common.wire;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.UnsafeApi;

/**
 * How adapter gradients and adapter parameters are framed on the data plane: one frame carries one
 * chunk of a vector. This file is the whole format: layout, encoding, validation and checksum.
 *
 * <pre>
 * offset size  field (little-endian)
 *  0     4     magic 0x3156464C ("LFV1")
 *  4     1     kind: 1 gradient (worker to coordinator), 2 parameters (coordinator to workers),
 *              3 parameter request (worker asks for the current version; no payload)
 *  5     1     wire dtype: 1 fp32, 2 bf16 ({@link WireDtype})
 *  6     2     header length: 80
 *  8     8     job key: 64-bit FNV-1a of the job id's UTF-8 bytes ({@link #key(String)})
 * 16     8     step (gradients: the step they were computed for; parameters: the version)
 * 24     8     sender key: {@link #key(String)} of the worker id; 0 from the coordinator
 * 32     4     round of the gather within the step (0 unless a step is gathered again)
 * 36     4     sequence: the chunk's index within its vector
 * 40     8     total length of the vector in elements (a long, so that hostile values are seen)
 * 48     4     chunk offset in elements
 * 52     4     chunk length in elements
 * 56     8     token count of the whole vector (repeated in every chunk)
 * 64     8     loss sum of the whole vector, IEEE-754 binary64 (repeated in every chunk)
 * 72     4     checksum of bytes [0, 72) and of the payload ({@link #computeChecksum})
 * 76     4     reserved, 0
 * 80     n     payload: chunk length elements in the wire dtype
 * </pre>
 *
 * <p>The payload starts 16-byte aligned when the frame does (Aeron frames are 32-byte aligned), so
 * fp32 payloads are copied with one bulk copy. Methods take the buffer and the frame's offset, so
 * one instance-free codec serves Aeron term buffers, claims and scratch buffers alike.
 */
public final class VectorFrame {
  public static final int MAGIC = 0x3156464C;
  public static final byte KIND_GRADIENT = 1;
  public static final byte KIND_PARAMETERS = 2;
  public static final byte KIND_PARAMETER_REQUEST = 3;

  public static final int MAGIC_OFFSET = 0;
  public static final int KIND_OFFSET = 4;
  public static final int DTYPE_OFFSET = 5;
  public static final int HEADER_LENGTH_OFFSET = 6;
  public static final int JOB_KEY_OFFSET = 8;
  public static final int STEP_OFFSET = 16;
  public static final int SENDER_KEY_OFFSET = 24;
  public static final int ROUND_OFFSET = 32;
  public static final int SEQUENCE_OFFSET = 36;
  public static final int TOTAL_LENGTH_OFFSET = 40;
  public static final int CHUNK_OFFSET_OFFSET = 48;
  public static final int CHUNK_LENGTH_OFFSET = 52;
  public static final int TOKEN_COUNT_OFFSET = 56;
  public static final int LOSS_SUM_OFFSET = 64;
  public static final int CHECKSUM_OFFSET = 72;
  public static final int RESERVED_OFFSET = 76;
  public static final int HEADER_LENGTH = 80;

  /** Chunk lengths (except a vector's last) are multiples of this many elements. */
  public static final int ELEMENT_ALIGNMENT = 8;

  private static final boolean NATIVE_LITTLE_ENDIAN = ByteOrder.nativeOrder() == LITTLE_ENDIAN;
  private static final long FLOAT_ARRAY_BASE = UnsafeApi.arrayBaseOffset(float[].class);
  private static final long MULTIPLIER = 0x9e3779b97f4a7c15L;
  private static final long SEED_0 = 0x243f6a8885a308d3L;
  private static final long SEED_1 = 0x13198a2e03707344L;
  private static final long SEED_2 = 0xa4093822299f31d0L;
  private static final long SEED_3 = 0x082efa98ec4e6c89L;
  private static final long SEED_4 = 0x452821e638d01377L;
  private static final long SEED_5 = 0xbe5466cf34e90c6cL;
  private static final long SEED_6 = 0xc0ac29b7c97c50ddL;
  private static final long SEED_7 = 0x3f84d5b5b5470917L;

  /** Why a frame was refused by {@link #validate}; {@code OK} when it is structurally sound. */
  public enum Defect {
    OK,
    TOO_SHORT,
    BAD_MAGIC,
    BAD_KIND,
    BAD_DTYPE,
    BAD_LENGTHS
  }

  private VectorFrame() {}

  /** The 64-bit key that stands for a job or worker id on the wire (FNV-1a of its UTF-8 bytes). */
  public static long key(String id) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    return hash == 0 ? 1 : hash; // 0 is the coordinator's sender key
  }

  /** Bytes of a frame holding {@code elements} elements of {@code dtype}. */
  public static int frameLength(WireDtype dtype, int elements) {
    return HEADER_LENGTH + elements * dtype.bytesPerElement();
  }

  /**
   * The most elements of {@code dtype} whose frame fits in {@code maxFrameBytes}, rounded down to
   * {@link #ELEMENT_ALIGNMENT}.
   */
  public static int maxChunkElements(WireDtype dtype, int maxFrameBytes) {
    int elements = (maxFrameBytes - HEADER_LENGTH) / dtype.bytesPerElement();
    elements -= elements % ELEMENT_ALIGNMENT;
    if (elements <= 0) {
      throw new IllegalArgumentException(
          "a frame of " + maxFrameBytes + " bytes cannot hold a " + dtype + " chunk");
    }
    return elements;
  }

  /** Writes the header (checksum 0; call {@link #sealChecksum} after the payload). */
  public static void encodeHeader(
      MutableDirectBuffer buffer,
      int offset,
      byte kind,
      WireDtype dtype,
      long jobKey,
      long step,
      long senderKey,
      int round,
      int sequence,
      long totalLength,
      int chunkOffset,
      int chunkLength,
      long tokenCount,
      double lossSum) {
    buffer.putInt(offset + MAGIC_OFFSET, MAGIC, LITTLE_ENDIAN);
    buffer.putByte(offset + KIND_OFFSET, kind);
    buffer.putByte(offset + DTYPE_OFFSET, dtype.code());
    buffer.putShort(offset + HEADER_LENGTH_OFFSET, (short) HEADER_LENGTH, LITTLE_ENDIAN);
    buffer.putLong(offset + JOB_KEY_OFFSET, jobKey, LITTLE_ENDIAN);
    buffer.putLong(offset + STEP_OFFSET, step, LITTLE_ENDIAN);
    buffer.putLong(offset + SENDER_KEY_OFFSET, senderKey, LITTLE_ENDIAN);
    buffer.putInt(offset + ROUND_OFFSET, round, LITTLE_ENDIAN);
    buffer.putInt(offset + SEQUENCE_OFFSET, sequence, LITTLE_ENDIAN);
    buffer.putLong(offset + TOTAL_LENGTH_OFFSET, totalLength, LITTLE_ENDIAN);
    buffer.putInt(offset + CHUNK_OFFSET_OFFSET, chunkOffset, LITTLE_ENDIAN);
    buffer.putInt(offset + CHUNK_LENGTH_OFFSET, chunkLength, LITTLE_ENDIAN);
    buffer.putLong(offset + TOKEN_COUNT_OFFSET, tokenCount, LITTLE_ENDIAN);
    buffer.putDouble(offset + LOSS_SUM_OFFSET, lossSum, LITTLE_ENDIAN);
    buffer.putInt(offset + CHECKSUM_OFFSET, 0, LITTLE_ENDIAN);
    buffer.putInt(offset + RESERVED_OFFSET, 0, LITTLE_ENDIAN);
  }

  /** Encodes {@code count} elements of {@code source} from {@code from} as the payload. */
  public static void encodePayload(
      MutableDirectBuffer buffer,
      int offset,
      WireDtype dtype,
      float[] source,
      int from,
      int count) {
    int payload = offset + HEADER_LENGTH;
    switch (dtype) {
      case FP32 -> {
        if (NATIVE_LITTLE_ENDIAN) {
          UnsafeApi.copyMemory(
              source,
              FLOAT_ARRAY_BASE + 4L * from,
              buffer.byteArray(),
              buffer.addressOffset() + payload,
              4L * count);
        } else {
          for (int i = 0; i < count; i++) {
            buffer.putFloat(payload + 4 * i, source[from + i], LITTLE_ENDIAN);
          }
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          buffer.putShort(payload + 2 * i, toBf16(source[from + i]), LITTLE_ENDIAN);
        }
      }
    }
  }

  /** Computes the frame's checksum and writes it into the header. */
  public static void sealChecksum(MutableDirectBuffer buffer, int offset, int frameLength) {
    buffer.putInt(
        offset + CHECKSUM_OFFSET, computeChecksum(buffer, offset, frameLength), LITTLE_ENDIAN);
  }

  /** Whether the checksum in the header matches the frame's content. */
  public static boolean checksumMatches(DirectBuffer buffer, int offset, int frameLength) {
    return checksum(buffer, offset) == computeChecksum(buffer, offset, frameLength);
  }

  /**
   * The frame checksum: a 64-bit hash of header bytes [0, 72) and of the payload, folded to 32
   * bits.
   *
   * <p>Why not CRC-32C: the JDK's CRC-32C runs at about 8 GB/s from memory on our machines, which
   * alone would hold the reduction under half the memory bandwidth. This hash reads the frame as
   * 64-bit words in eight independent lanes (eight, not four: each lane waits on its multiply, so
   * more lanes keep more multiplies in flight; measured about 10% faster), each step {@code lane =
   * (lane ^ word) * odd constant}: one multiply per 8 bytes, so it keeps up with memory, and each
   * step is a bijection, so a frame that differs from what was sealed in any one word always hashes
   * differently before the final fold (and any other corruption is missed with probability about
   * 2^-32, like a CRC-32's). Transport integrity (loss, reordering) is Aeron's job; this catches
   * corruption and bugs.
   */
  public static int computeChecksum(DirectBuffer buffer, int offset, int frameLength) {
    Object base = buffer.byteArray();
    long address = buffer.addressOffset() + offset;
    long l0 = headerHash(base, address);
    long lanes =
        base == null
            ? payloadHashOffHeap(l0, address + HEADER_LENGTH, address + frameLength)
            : payloadHash(l0, base, address + HEADER_LENGTH, address + frameLength);
    return fold(lanes, frameLength);
  }

  private static long headerHash(Object base, long address) {
    long l0 = SEED_0;
    for (int i = 0; i < CHECKSUM_OFFSET; i += 8) {
      l0 = (l0 ^ UnsafeApi.getLong(base, address + i)) * MULTIPLIER;
    }
    return l0;
  }

  private static int fold(long lanes, int frameLength) {
    long h = lanes ^ frameLength;
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return (int) (h ^ (h >>> 32));
  }

  /**
   * Writes {@code count} fp32 values of {@code source} from {@code from} as the payload of a frame
   * whose header is encoded, and seals its checksum, in one pass: each word is hashed as it is
   * copied, where encoding then sealing read the payload twice. Same bytes, same checksum.
   */
  public static void encodeFp32Sealed(
      MutableDirectBuffer buffer, int offset, float[] source, int from, int count) {
    if (!NATIVE_LITTLE_ENDIAN) {
      encodePayload(buffer, offset, WireDtype.FP32, source, from, count);
      sealChecksum(buffer, offset, frameLength(WireDtype.FP32, count));
      return;
    }
    Object base = buffer.byteArray();
    long address = buffer.addressOffset() + offset;
    long lanes =
        copyHashing(
            headerHash(base, address),
            source,
            FLOAT_ARRAY_BASE + 4L * from,
            base,
            address + HEADER_LENGTH,
            4L * count);
    int frameLength = frameLength(WireDtype.FP32, count);
    buffer.putInt(offset + CHECKSUM_OFFSET, fold(lanes, frameLength), LITTLE_ENDIAN);
  }

  /**
   * Checks an fp32 frame's checksum while copying its payload into {@code target[chunkOffset…]}, in
   * one pass. When it does not match, that range of {@code target} holds the frame's (bad) values
   * and must not be used: the caller drops the frame and the range is written again by the next
   * good one.
   *
   * @return whether the checksum matched
   */
  public static boolean decodeFp32Checked(
      DirectBuffer buffer, int offset, int frameLength, float[] target) {
    int at = chunkOffset(buffer, offset);
    int count = chunkLength(buffer, offset);
    if (!NATIVE_LITTLE_ENDIAN || dtype(buffer, offset) != WireDtype.FP32) {
      if (!checksumMatches(buffer, offset, frameLength)) {
        return false;
      }
      decodeInto(buffer, offset, target);
      return true;
    }
    Object base = buffer.byteArray();
    long address = buffer.addressOffset() + offset;
    long lanes =
        copyHashing(
            headerHash(base, address),
            base,
            address + HEADER_LENGTH,
            target,
            FLOAT_ARRAY_BASE + 4L * at,
            4L * count);
    return fold(lanes, frameLength) == checksum(buffer, offset);
  }

  /** {@link #payloadHash} of the bytes it copies from source to target. */
  private static long copyHashing(
      long l0, Object sourceBase, long source, Object targetBase, long target, long bytes) {
    long l1 = SEED_1;
    long l2 = SEED_2;
    long l3 = SEED_3;
    long l4 = SEED_4;
    long l5 = SEED_5;
    long l6 = SEED_6;
    long l7 = SEED_7;
    long end = source + bytes;
    long delta = target - source;
    long at = source;
    for (; at + 64 <= end; at += 64) {
      long w0 = UnsafeApi.getLong(sourceBase, at);
      long w1 = UnsafeApi.getLong(sourceBase, at + 8);
      long w2 = UnsafeApi.getLong(sourceBase, at + 16);
      long w3 = UnsafeApi.getLong(sourceBase, at + 24);
      long w4 = UnsafeApi.getLong(sourceBase, at + 32);
      long w5 = UnsafeApi.getLong(sourceBase, at + 40);
      long w6 = UnsafeApi.getLong(sourceBase, at + 48);
      long w7 = UnsafeApi.getLong(sourceBase, at + 56);
      UnsafeApi.putLong(targetBase, at + delta, w0);
      UnsafeApi.putLong(targetBase, at + delta + 8, w1);
      UnsafeApi.putLong(targetBase, at + delta + 16, w2);
      UnsafeApi.putLong(targetBase, at + delta + 24, w3);
      UnsafeApi.putLong(targetBase, at + delta + 32, w4);
      UnsafeApi.putLong(targetBase, at + delta + 40, w5);
      UnsafeApi.putLong(targetBase, at + delta + 48, w6);
      UnsafeApi.putLong(targetBase, at + delta + 56, w7);
      l0 = (l0 ^ w0) * MULTIPLIER;
      l1 = (l1 ^ w1) * MULTIPLIER;
      l2 = (l2 ^ w2) * MULTIPLIER;
      l3 = (l3 ^ w3) * MULTIPLIER;
      l4 = (l4 ^ w4) * MULTIPLIER;
      l5 = (l5 ^ w5) * MULTIPLIER;
      l6 = (l6 ^ w6) * MULTIPLIER;
      l7 = (l7 ^ w7) * MULTIPLIER;
    }
    for (; at + 8 <= end; at += 8) {
      long w = UnsafeApi.getLong(sourceBase, at);
      UnsafeApi.putLong(targetBase, at + delta, w);
      l1 = (l1 ^ w) * MULTIPLIER;
    }
    for (; at < end; at++) {
      byte b = UnsafeApi.getByte(sourceBase, at);
      UnsafeApi.putByte(targetBase, at + delta, b);
      l2 = (l2 ^ (b & 0xff)) * MULTIPLIER;
    }
    return lanes(l0, l1, l2, l3, l4, l5, l6, l7);
  }

  /** The eight lanes of the payload hash, combined into one word. */
  private static long lanes(
      long l0, long l1, long l2, long l3, long l4, long l5, long l6, long l7) {
    return l0
        ^ Long.rotateLeft(l1, 8)
        ^ Long.rotateLeft(l2, 16)
        ^ Long.rotateLeft(l3, 24)
        ^ Long.rotateLeft(l4, 32)
        ^ Long.rotateLeft(l5, 40)
        ^ Long.rotateLeft(l6, 48)
        ^ Long.rotateLeft(l7, 56);
  }

  // Two copies of one loop: raw-address reads (Aeron's term buffers) compile to tighter code
  // than reads through a possibly-null base object.
  private static long payloadHashOffHeap(long l0, long at, long end) {
    long l1 = SEED_1;
    long l2 = SEED_2;
    long l3 = SEED_3;
    long l4 = SEED_4;
    long l5 = SEED_5;
    long l6 = SEED_6;
    long l7 = SEED_7;
    for (; at + 64 <= end; at += 64) {
      l0 = (l0 ^ UnsafeApi.getLong(at)) * MULTIPLIER;
      l1 = (l1 ^ UnsafeApi.getLong(at + 8)) * MULTIPLIER;
      l2 = (l2 ^ UnsafeApi.getLong(at + 16)) * MULTIPLIER;
      l3 = (l3 ^ UnsafeApi.getLong(at + 24)) * MULTIPLIER;
      l4 = (l4 ^ UnsafeApi.getLong(at + 32)) * MULTIPLIER;
      l5 = (l5 ^ UnsafeApi.getLong(at + 40)) * MULTIPLIER;
      l6 = (l6 ^ UnsafeApi.getLong(at + 48)) * MULTIPLIER;
      l7 = (l7 ^ UnsafeApi.getLong(at + 56)) * MULTIPLIER;
    }
    for (; at + 8 <= end; at += 8) {
      l1 = (l1 ^ UnsafeApi.getLong(at)) * MULTIPLIER;
    }
    for (; at < end; at++) {
      l2 = (l2 ^ (UnsafeApi.getByte(at) & 0xff)) * MULTIPLIER;
    }
    return lanes(l0, l1, l2, l3, l4, l5, l6, l7);
  }

  private static long payloadHash(long l0, Object base, long at, long end) {
    long l1 = SEED_1;
    long l2 = SEED_2;
    long l3 = SEED_3;
    long l4 = SEED_4;
    long l5 = SEED_5;
    long l6 = SEED_6;
    long l7 = SEED_7;
    for (; at + 64 <= end; at += 64) {
      l0 = (l0 ^ UnsafeApi.getLong(base, at)) * MULTIPLIER;
      l1 = (l1 ^ UnsafeApi.getLong(base, at + 8)) * MULTIPLIER;
      l2 = (l2 ^ UnsafeApi.getLong(base, at + 16)) * MULTIPLIER;
      l3 = (l3 ^ UnsafeApi.getLong(base, at + 24)) * MULTIPLIER;
      l4 = (l4 ^ UnsafeApi.getLong(base, at + 32)) * MULTIPLIER;
      l5 = (l5 ^ UnsafeApi.getLong(base, at + 40)) * MULTIPLIER;
      l6 = (l6 ^ UnsafeApi.getLong(base, at + 48)) * MULTIPLIER;
      l7 = (l7 ^ UnsafeApi.getLong(base, at + 56)) * MULTIPLIER;
    }
    for (; at + 8 <= end; at += 8) {
      l1 = (l1 ^ UnsafeApi.getLong(base, at)) * MULTIPLIER;
    }
    for (; at < end; at++) {
      l2 = (l2 ^ (UnsafeApi.getByte(base, at) & 0xff)) * MULTIPLIER;
    }
    return lanes(l0, l1, l2, l3, l4, l5, l6, l7);
  }

  /**
   * Checks what can be checked without knowing the receiver's state: size, magic, kind, dtype and
   * that the chunk lies inside the vector, the vector is at most {@code maxTotalLength} elements
   * and the frame is exactly header plus payload long.
   */
  public static Defect validate(DirectBuffer buffer, int offset, int length, long maxTotalLength) {
    if (length < HEADER_LENGTH) {
      return Defect.TOO_SHORT;
    }
    if (buffer.getInt(offset + MAGIC_OFFSET, LITTLE_ENDIAN) != MAGIC
        || buffer.getShort(offset + HEADER_LENGTH_OFFSET, LITTLE_ENDIAN) != HEADER_LENGTH) {
      return Defect.BAD_MAGIC;
    }
    byte kind = kind(buffer, offset);
    if (kind < KIND_GRADIENT || kind > KIND_PARAMETER_REQUEST) {
      return Defect.BAD_KIND;
    }
    WireDtype dtype = dtype(buffer, offset);
    if (dtype == null) {
      return Defect.BAD_DTYPE;
    }
    long total = totalLength(buffer, offset);
    int chunkOffset = chunkOffset(buffer, offset);
    int chunkLength = chunkLength(buffer, offset);
    if (total < 0
        || total > maxTotalLength
        || chunkOffset < 0
        || chunkLength < 0
        || (long) chunkOffset + chunkLength > total
        || (long) HEADER_LENGTH + (long) chunkLength * dtype.bytesPerElement() != length) {
      return Defect.BAD_LENGTHS;
    }
    return Defect.OK;
  }

  public static byte kind(DirectBuffer buffer, int offset) {
    return buffer.getByte(offset + KIND_OFFSET);
  }

  /** The dtype, or {@code null} for an unknown code. */
  public static WireDtype dtype(DirectBuffer buffer, int offset) {
    return WireDtype.fromCode(buffer.getByte(offset + DTYPE_OFFSET));
  }

  public static long jobKey(DirectBuffer buffer, int offset) {
    return buffer.getLong(offset + JOB_KEY_OFFSET, LITTLE_ENDIAN);
  }

  public static long step(DirectBuffer buffer, int offset) {
    return buffer.getLong(offset + STEP_OFFSET, LITTLE_ENDIAN);
  }

  public static long senderKey(DirectBuffer buffer, int offset) {
    return buffer.getLong(offset + SENDER_KEY_OFFSET, LITTLE_ENDIAN);
  }

  public static int round(DirectBuffer buffer, int offset) {
    return buffer.getInt(offset + ROUND_OFFSET, LITTLE_ENDIAN);
  }

  public static int sequence(DirectBuffer buffer, int offset) {
    return buffer.getInt(offset + SEQUENCE_OFFSET, LITTLE_ENDIAN);
  }

  public static long totalLength(DirectBuffer buffer, int offset) {
    return buffer.getLong(offset + TOTAL_LENGTH_OFFSET, LITTLE_ENDIAN);
  }

  public static int chunkOffset(DirectBuffer buffer, int offset) {
    return buffer.getInt(offset + CHUNK_OFFSET_OFFSET, LITTLE_ENDIAN);
  }

  public static int chunkLength(DirectBuffer buffer, int offset) {
    return buffer.getInt(offset + CHUNK_LENGTH_OFFSET, LITTLE_ENDIAN);
  }

  public static long tokenCount(DirectBuffer buffer, int offset) {
    return buffer.getLong(offset + TOKEN_COUNT_OFFSET, LITTLE_ENDIAN);
  }

  public static double lossSum(DirectBuffer buffer, int offset) {
    return buffer.getDouble(offset + LOSS_SUM_OFFSET, LITTLE_ENDIAN);
  }

  public static int checksum(DirectBuffer buffer, int offset) {
    return buffer.getInt(offset + CHECKSUM_OFFSET, LITTLE_ENDIAN);
  }

  /** Decodes the payload into {@code target[chunkOffset…]}, overwriting: fp32 is one bulk copy. */
  public static void decodeInto(DirectBuffer buffer, int offset, float[] target) {
    WireDtype dtype = dtype(buffer, offset);
    int at = chunkOffset(buffer, offset);
    int count = chunkLength(buffer, offset);
    int payload = offset + HEADER_LENGTH;
    if (dtype == WireDtype.FP32 && NATIVE_LITTLE_ENDIAN) {
      UnsafeApi.copyMemory(
          buffer.byteArray(),
          buffer.addressOffset() + payload,
          target,
          FLOAT_ARRAY_BASE + 4L * at,
          4L * count);
    } else if (dtype == WireDtype.FP32) {
      for (int i = 0; i < count; i++) {
        target[at + i] = buffer.getFloat(payload + 4 * i, LITTLE_ENDIAN);
      }
    } else {
      for (int i = 0; i < count; i++) {
        target[at + i] = fromBf16(buffer.getShort(payload + 2 * i, LITTLE_ENDIAN));
      }
    }
  }

  /**
   * Adds the payload into {@code accumulator[chunkOffset…]} element by element (fp32 adds), reading
   * the frame where it lies (the checksum pass has just brought it into cache).
   */
  public static void addInto(DirectBuffer buffer, int offset, float[] accumulator) {
    combineInto(buffer, offset, accumulator, false);
  }

  /**
   * Writes {@code accumulator[chunkOffset + i] = 0 + payload[i]}: the first worker's add of a
   * range, without reading the accumulator (so it need not be zeroed, and may be a reused array).
   * The {@code 0 +} keeps the bits of adding into zeros (it turns -0.0 into +0.0).
   */
  public static void setInto(DirectBuffer buffer, int offset, float[] accumulator) {
    combineInto(buffer, offset, accumulator, true);
  }

  /** {@code acc[i] = (first ? 0 : acc[i]) + payload[i]} over the frame's range. */
  private static void combineInto(
      DirectBuffer buffer, int offset, float[] accumulator, boolean first) {
    WireDtype dtype = dtype(buffer, offset);
    int at = chunkOffset(buffer, offset);
    int count = chunkLength(buffer, offset);
    Object base = buffer.byteArray();
    long payload = buffer.addressOffset() + offset + HEADER_LENGTH;
    if (dtype == WireDtype.FP32 && NATIVE_LITTLE_ENDIAN && first && base == null) {
      for (int i = 0; i < count; i++) {
        accumulator[at + i] = 0f + UnsafeApi.getFloat(payload + 4L * i);
      }
    } else if (dtype == WireDtype.FP32 && NATIVE_LITTLE_ENDIAN && !first) {
      addFp32(accumulator, at, base, payload, count);
    } else {
      for (int i = 0; i < count; i++) {
        float value =
            dtype == WireDtype.FP32
                ? buffer.getFloat(offset + HEADER_LENGTH + 4 * i, LITTLE_ENDIAN)
                : fromBf16(buffer.getShort(offset + HEADER_LENGTH + 2 * i, LITTLE_ENDIAN));
        accumulator[at + i] = (first ? 0f : accumulator[at + i]) + value;
      }
    }
  }

  private static void addFp32(float[] accumulator, int at, Object base, long address, int count) {
    if (base == null) {
      addFp32OffHeap(accumulator, at, address, count); // Aeron's term buffers: the hot path
    } else {
      for (int i = 0; i < count; i++) {
        accumulator[at + i] += UnsafeApi.getFloat(base, address + 4L * i);
      }
    }
  }

  /**
   * Writes {@code accumulator[at + i] = (0 + a[i]) + b[i]} for two fp32 frames of the same range
   * ({@code count} elements each, native little-endian): the first two workers' adds of a range in
   * one pass that writes the accumulator without reading it. The {@code 0 +} keeps the bits of
   * adding into a zeroed accumulator (it turns -0.0 into +0.0).
   */
  public static void sumFp32(
      float[] accumulator,
      int at,
      int count,
      DirectBuffer a,
      int aOffset,
      DirectBuffer b,
      int bOffset) {
    Object aBase = a.byteArray();
    Object bBase = b.byteArray();
    long aPayload = a.addressOffset() + aOffset + HEADER_LENGTH;
    long bPayload = b.addressOffset() + bOffset + HEADER_LENGTH;
    if (aBase == null && bBase == null) {
      for (int i = 0; i < count; i++) {
        accumulator[at + i] =
            (0f + UnsafeApi.getFloat(aPayload + 4L * i)) + UnsafeApi.getFloat(bPayload + 4L * i);
      }
    } else {
      for (int i = 0; i < count; i++) {
        accumulator[at + i] =
            (0f + UnsafeApi.getFloat(aBase, aPayload + 4L * i))
                + UnsafeApi.getFloat(bBase, bPayload + 4L * i);
      }
    }
  }

  private static void addFp32OffHeap(float[] accumulator, int at, long address, int count) {
    for (int i = 0; i < count; i++) {
      accumulator[at + i] += UnsafeApi.getFloat(address + 4L * i);
    }
  }

  /** fp32 to bf16, rounding to nearest even; NaN stays NaN. */
  public static short toBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }

  public static float fromBf16(short bf16) {
    return Float.intBitsToFloat((bf16 & 0xffff) << 16);
  }
}
