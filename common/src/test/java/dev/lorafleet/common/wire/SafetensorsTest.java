package dev.lorafleet.common.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir Path dir;

  private static float[] ramp(int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (i - n / 2f) * 0.37f;
    }
    return v;
  }

  @Test
  void roundTripsF32ExactlyAndF16Bf16ToTheirRounding() {
    float[] values = ramp(12);
    Path file = dir.resolve("t.safetensors");
    new SafetensorsWriter()
        .add("w32", DType.F32, new long[] {3, 4}, values)
        .add("w16", DType.F16, new long[] {12}, values)
        .add("wbf", DType.BF16, new long[] {2, 6}, values)
        .write(file);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertThat(f.metadata()).containsEntry("format", "pt");
      assertThat(f.info("w32").shape()).containsExactly(3, 4);
      assertThat(f.readFloats("w32")).containsExactly(values);
      float[] half = f.readFloats("w16");
      float[] bf = f.readFloats("wbf");
      for (int i = 0; i < values.length; i++) {
        assertThat(half[i]).isCloseTo(values[i], org.assertj.core.data.Offset.offset(2e-3f));
        assertThat(bf[i])
            .isEqualTo(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i])))
            .isCloseTo(values[i], org.assertj.core.data.Offset.offset(2e-2f));
      }
    }
  }

  @Test
  void writesTheSameBytesWhateverTheInsertionOrder() {
    byte[] one =
        new SafetensorsWriter()
            .add("b", DType.F32, new long[] {2}, new float[] {1, 2})
            .add("a", DType.BF16, new long[] {2}, new float[] {3, 4})
            .toBytes();
    byte[] two =
        new SafetensorsWriter()
            .add("a", DType.BF16, new long[] {2}, new float[] {3, 4})
            .add("b", DType.F32, new long[] {2}, new float[] {1, 2})
            .toBytes();
    assertThat(one).isEqualTo(two);
    long headerLength = ByteBuffer.wrap(one).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertThat(headerLength % 8).isZero();
    String header = new String(one, 8, (int) headerLength, StandardCharsets.UTF_8).trim();
    assertThat(header)
        .isEqualTo(
            "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}");
  }

  @Test
  void halfFloatConversionsMatchIeee() {
    assertThat(HalfFloats.floatToF16(1.0f)).isEqualTo((short) 0x3C00);
    assertThat(HalfFloats.floatToF16(-2.0f)).isEqualTo((short) 0xC000);
    assertThat(HalfFloats.floatToF16(65504f)).isEqualTo((short) 0x7BFF);
    assertThat(HalfFloats.floatToF16(1e6f)).isEqualTo((short) 0x7C00);
    assertThat(HalfFloats.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(HalfFloats.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
    assertThat(HalfFloats.floatToBf16(1.0f)).isEqualTo((short) 0x3F80);
    // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down)
    assertThat(HalfFloats.floatToBf16(1.00390625f)).isEqualTo((short) 0x3F80);
    for (int bits = 0; bits < 0x10000; bits++) {
      float f = HalfFloats.f16ToFloat((short) bits);
      if (!Float.isNaN(f)) {
        assertThat(HalfFloats.floatToF16(f)).isEqualTo((short) bits);
      }
    }
  }

  private Path rawFile(String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Path file = dir.resolve("raw.safetensors");
    Files.write(file, b.array());
    return file;
  }

  @Test
  void rejectsHeaderLengthPastTheEnd() throws IOException {
    Path file = dir.resolve("bad.safetensors");
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
    Files.write(file, b.array());
    assertThatThrownBy(() -> SafetensorsFile.open(file))
        .isInstanceOf(SafetensorsException.class)
        .hasMessageContaining("bad.safetensors")
        .hasMessageContaining("header length 1000 runs past the end of the file (16 bytes)");
  }

  @Test
  void rejectsFileShorterThanTheLengthPrefix() throws IOException {
    Path file = dir.resolve("short.safetensors");
    Files.write(file, new byte[3]);
    assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("truncated: 3 bytes");
  }

  @Test
  void rejectsHeaderThatIsNotJson() throws IOException {
    Path file = rawFile("{not json at all", 0);
    assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("header is not JSON");
  }

  @Test
  void rejectsOverlappingOffsets() throws IOException {
    Path file =
        rawFile(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            12);
    assertThatThrownBy(() -> SafetensorsFile.open(file))
        .hasMessageContaining("tensors 'a' [0, 8) and 'b' [4, 12) overlap");
  }

  @Test
  void rejectsOffsetsShorterThanTheShape() throws IOException {
    Path file = rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    assertThatThrownBy(() -> SafetensorsFile.open(file))
        .hasMessageContaining(
            "tensor 'a': data_offsets [0,8] span 8 bytes but shape [3] of F32 needs 12");
  }

  @Test
  void rejectsShapeWhoseByteSizeOverflows() throws IOException {
    Path file =
        rawFile(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
            8);
    assertThatThrownBy(() -> SafetensorsFile.open(file))
        .hasMessageContaining("tensor 'a': shape [4294967296,4294967296] × F32 overflows 64 bits");
  }

  @Test
  void rejectsTruncatedData() throws IOException {
    Path file = dir.resolve("t.safetensors");
    new SafetensorsWriter().add("w", DType.F32, new long[] {4, 4}, ramp(16)).write(file);
    byte[] all = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(all, all.length - 5));
    assertThatThrownBy(() -> SafetensorsFile.open(file))
        .hasMessageContaining(
            "truncated: tensor 'w' ends at data byte 64 but the file holds only 59");
  }

  @Test
  void rejectsPickleCheckpoints() throws IOException {
    Path bin = dir.resolve("pytorch_model.bin");
    Files.write(bin, new byte[] {(byte) 0x80, 2, 0, 0, 0, 0, 0, 0, 0});
    assertThatThrownBy(() -> SafetensorsFile.open(bin))
        .hasMessageContaining("PyTorch pickle checkpoint");
    Path disguised = dir.resolve("weights.safetensors");
    Files.write(disguised, new byte[] {(byte) 0x80, 2, 0x7d, 0x71, 0, 0, 0, 0, 0, 0});
    assertThatThrownBy(() -> SafetensorsFile.open(disguised))
        .hasMessageContaining("is a Python pickle");
    assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir))
        .hasMessageContaining("has only a PyTorch pickle checkpoint (pytorch_model.bin)");
  }

  @Test
  void opensShardedCheckpointsThroughTheIndex() {
    new SafetensorsWriter()
        .add("a", DType.F32, new long[] {2}, new float[] {1, 2})
        .write(dir.resolve("model-00001-of-00002.safetensors"));
    new SafetensorsWriter()
        .add("b", DType.BF16, new long[] {1}, new float[] {3})
        .write(dir.resolve("model-00002-of-00002.safetensors"));
    SafetensorsCheckpoint.writeIndex(
        dir,
        Map.of("a", "model-00001-of-00002.safetensors", "b", "model-00002-of-00002.safetensors"),
        10);
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
      assertThat(ckpt.names()).containsExactlyInAnyOrder("a", "b");
      assertThat(ckpt.readFloats("a")).containsExactly(1, 2);
      assertThat(ckpt.readFloats("b")).containsExactly(3);
      assertThatThrownBy(() -> ckpt.info("c")).hasMessageContaining("missing tensor 'c'");
    }
  }

  @Test
  void rejectsIndexNamingAMissingShard() {
    SafetensorsCheckpoint.writeIndex(dir, Map.of("a", "gone.safetensors"), 8);
    assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir))
        .hasMessageContaining("lists shard 'gone.safetensors' which does not exist");
  }
}
