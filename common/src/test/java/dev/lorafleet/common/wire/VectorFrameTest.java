package dev.lorafleet.common.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class VectorFrameTest {
  private static UnsafeBuffer frame(WireDtype dtype, float[] values, long total) {
    int length = VectorFrame.frameLength(dtype, values.length);
    UnsafeBuffer buffer = new UnsafeBuffer(new byte[length]);
    VectorFrame.encodeHeader(
        buffer,
        0,
        VectorFrame.KIND_GRADIENT,
        dtype,
        VectorFrame.key("job"),
        3,
        VectorFrame.key("w"),
        1,
        2,
        total,
        16,
        values.length,
        99,
        1.25);
    VectorFrame.encodePayload(buffer, 0, dtype, values, 0, values.length);
    VectorFrame.sealChecksum(buffer, 0, length);
    return buffer;
  }

  @Test
  void copyingWhileHashingGivesTheSameBytesAndChecksumAsEncodingThenSealing() {
    java.util.Random random = new java.util.Random(5);
    // counts that end on a 64-byte block, on an 8-byte word, and mid-word (every tail path)
    for (int count : new int[] {16, 17, 18, 3, 1, 1000, 16_371}) {
      float[] values = new float[count + 5];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      int length = VectorFrame.frameLength(WireDtype.FP32, count);
      for (boolean offHeap : new boolean[] {false, true}) {
        UnsafeBuffer twoPass = buffer(length + 8, offHeap);
        UnsafeBuffer onePass = buffer(length + 8, offHeap);
        for (UnsafeBuffer b : new UnsafeBuffer[] {twoPass, onePass}) {
          VectorFrame.encodeHeader(
              b,
              8,
              VectorFrame.KIND_PARAMETERS,
              WireDtype.FP32,
              1L,
              2,
              3L,
              0,
              0,
              100_000,
              40,
              count,
              0,
              0.0);
        }
        VectorFrame.encodePayload(twoPass, 8, WireDtype.FP32, values, 5, count);
        VectorFrame.sealChecksum(twoPass, 8, length);
        VectorFrame.encodeFp32Sealed(onePass, 8, values, 5, count);
        for (int i = 0; i < length + 8; i++) {
          assertThat(onePass.getByte(i))
              .as("byte %d of %d values", i, count)
              .isEqualTo(twoPass.getByte(i));
        }
        assertThat(VectorFrame.checksumMatches(onePass, 8, length)).isTrue();

        float[] target = new float[100_000];
        assertThat(VectorFrame.decodeFp32Checked(onePass, 8, length, target)).isTrue();
        for (int i = 0; i < count; i++) {
          assertThat(Float.floatToRawIntBits(target[40 + i]))
              .isEqualTo(Float.floatToRawIntBits(values[5 + i]));
        }
        int flip = 8 + VectorFrame.HEADER_LENGTH + random.nextInt(4 * count);
        onePass.putByte(flip, (byte) (onePass.getByte(flip) ^ 0x10));
        assertThat(VectorFrame.decodeFp32Checked(onePass, 8, length, target))
            .as("a flipped payload byte is caught while copying")
            .isFalse();
      }
    }
  }

  private static UnsafeBuffer buffer(int length, boolean offHeap) {
    return offHeap
        ? new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(length))
        : new UnsafeBuffer(new byte[length]);
  }

  @Test
  void roundTripsHeaderAndFp32PayloadExactly() {
    float[] values = {1.5f, -0.0f, Float.MIN_VALUE, 3.4e38f, Float.NaN, -7f, 0.1f, 2f};
    UnsafeBuffer buffer = frame(WireDtype.FP32, values, 100);

    assertThat(VectorFrame.validate(buffer, 0, buffer.capacity(), 1000))
        .isEqualTo(VectorFrame.Defect.OK);
    assertThat(VectorFrame.step(buffer, 0)).isEqualTo(3);
    assertThat(VectorFrame.round(buffer, 0)).isEqualTo(1);
    assertThat(VectorFrame.sequence(buffer, 0)).isEqualTo(2);
    assertThat(VectorFrame.totalLength(buffer, 0)).isEqualTo(100);
    assertThat(VectorFrame.chunkOffset(buffer, 0)).isEqualTo(16);
    assertThat(VectorFrame.tokenCount(buffer, 0)).isEqualTo(99);
    assertThat(VectorFrame.lossSum(buffer, 0)).isEqualTo(1.25);
    float[] decoded = new float[100];
    VectorFrame.decodeInto(buffer, 0, decoded);
    for (int i = 0; i < values.length; i++) {
      assertThat(Float.floatToRawIntBits(decoded[16 + i]))
          .isEqualTo(Float.floatToRawIntBits(values[i]));
    }
  }

  @Test
  void bf16RoundsToNearestEvenAndKeepsNaN() {
    assertThat(VectorFrame.fromBf16(VectorFrame.toBf16(1.0f))).isEqualTo(1.0f);
    // 1 + 2^-8 is halfway between two bf16 values: rounds to the even one (1.0)
    assertThat(VectorFrame.fromBf16(VectorFrame.toBf16(1.00390625f))).isEqualTo(1.0f);
    // 1 + 3*2^-8 is halfway too: rounds up to the even 1 + 2^-6
    assertThat(VectorFrame.fromBf16(VectorFrame.toBf16(1.01171875f))).isEqualTo(1.015625f);
    assertThat(VectorFrame.fromBf16(VectorFrame.toBf16(Float.NaN))).isNaN();
    assertThat(VectorFrame.fromBf16(VectorFrame.toBf16(-2.5f))).isEqualTo(-2.5f);
  }

  @Test
  void addsBf16PayloadIntoAccumulator() {
    float[] values = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f};
    UnsafeBuffer buffer = frame(WireDtype.BF16, values, 24);
    float[] accumulator = new float[24];
    accumulator[16] = 0.5f;
    VectorFrame.addInto(buffer, 0, accumulator);
    assertThat(accumulator[16]).isEqualTo(1.5f);
    assertThat(accumulator[23]).isEqualTo(8f);
    assertThat(accumulator[15]).isZero();
  }

  @Test
  void checksumCatchesAFlippedBitInPayloadOrHeader() {
    float[] values = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f};
    UnsafeBuffer buffer = frame(WireDtype.FP32, values, 100);
    assertThat(VectorFrame.checksumMatches(buffer, 0, buffer.capacity())).isTrue();

    buffer.putByte(VectorFrame.HEADER_LENGTH + 5, (byte) (buffer.getByte(85) ^ 0x10));
    assertThat(VectorFrame.checksumMatches(buffer, 0, buffer.capacity())).isFalse();

    UnsafeBuffer other = frame(WireDtype.FP32, values, 100);
    other.putLong(VectorFrame.TOKEN_COUNT_OFFSET, 100);
    assertThat(VectorFrame.checksumMatches(other, 0, other.capacity())).isFalse();
  }

  @Test
  void validateRefusesHostileLengths() {
    float[] values = new float[8];
    assertThat(VectorFrame.validate(frame(WireDtype.FP32, values, 1L << 31), 0, 112, 1 << 28))
        .isEqualTo(VectorFrame.Defect.BAD_LENGTHS);
    assertThat(VectorFrame.validate(frame(WireDtype.FP32, values, 20), 0, 112, 1 << 28))
        .as("chunk [16, 24) outside a 20-element vector")
        .isEqualTo(VectorFrame.Defect.BAD_LENGTHS);
    UnsafeBuffer ok = frame(WireDtype.FP32, values, 100);
    assertThat(VectorFrame.validate(ok, 0, 111, 1 << 28)).isEqualTo(VectorFrame.Defect.BAD_LENGTHS);
    assertThat(VectorFrame.validate(ok, 0, 40, 1 << 28)).isEqualTo(VectorFrame.Defect.TOO_SHORT);
    ok.putInt(0, 0x12345678);
    assertThat(VectorFrame.validate(ok, 0, 112, 1 << 28)).isEqualTo(VectorFrame.Defect.BAD_MAGIC);
  }

  @Test
  void keysAreStableAndNeverTheCoordinatorsZero() {
    assertThat(VectorFrame.key("job-1")).isEqualTo(VectorFrame.key("job-1"));
    assertThat(VectorFrame.key("job-1")).isNotEqualTo(VectorFrame.key("job-2"));
    assertThat(VectorFrame.key("")).isNotZero();
  }
}
