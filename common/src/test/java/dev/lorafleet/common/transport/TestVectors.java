package dev.lorafleet.common.transport;

import static org.assertj.core.api.Assertions.fail;

import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;

/** Vectors, frames and reference sums for data-plane tests. */
final class TestVectors {
  private TestVectors() {}

  static float[] gaussian(Random random, int length, float scale) {
    float[] v = new float[length];
    for (int i = 0; i < length; i++) {
      v[i] = (float) random.nextGaussian() * scale;
    }
    return v;
  }

  /** What the receiver sees of {@code value} after the wire dtype. */
  static float onWire(float value, WireDtype dtype) {
    return dtype == WireDtype.BF16 ? VectorFrame.fromBf16(VectorFrame.toBf16(value)) : value;
  }

  /** ((0 + v0) + v1) + … in the given order, fp32, as the reducer must produce it. */
  static float[] referenceSum(List<float[]> vectors, List<WireDtype> dtypes, int length) {
    float[] sum = new float[length];
    for (int w = 0; w < vectors.size(); w++) {
      for (int i = 0; i < length; i++) {
        sum[i] += onWire(vectors.get(w)[i], dtypes.get(w));
      }
    }
    return sum;
  }

  /** The frames a sender would publish for {@code values}, one buffer per chunk. */
  static List<UnsafeBuffer> frames(
      byte kind,
      WireDtype dtype,
      String jobId,
      long step,
      String senderId,
      int round,
      float[] values,
      int chunkElements,
      long tokens,
      double loss) {
    List<UnsafeBuffer> frames = new ArrayList<>();
    int offset = 0;
    int sequence = 0;
    do {
      int count = Math.min(chunkElements, values.length - offset);
      int length = VectorFrame.frameLength(dtype, count);
      UnsafeBuffer buffer = new UnsafeBuffer(new byte[length]);
      VectorFrame.encodeHeader(
          buffer,
          0,
          kind,
          dtype,
          VectorFrame.key(jobId),
          step,
          VectorFrame.key(senderId),
          round,
          sequence++,
          values.length,
          offset,
          count,
          tokens,
          loss);
      VectorFrame.encodePayload(buffer, 0, dtype, values, offset, count);
      VectorFrame.sealChecksum(buffer, 0, length);
      frames.add(buffer);
      offset += count;
    } while (offset < values.length);
    return frames;
  }

  /** Fails with the first differing index when the arrays differ in any bit. */
  static void assertBitwiseEqual(float[] actual, float[] expected) {
    if (actual.length != expected.length) {
      fail("length " + actual.length + " but expected " + expected.length);
    }
    for (int i = 0; i < actual.length; i++) {
      if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
        fail("element " + i + " is " + actual[i] + " but expected " + expected[i]);
      }
    }
  }
}
