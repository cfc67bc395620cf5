package dev.lorafleet.common.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes a safetensors file. The output is deterministic: tensors are laid out by element size
 * (largest first, which keeps every tensor aligned) then by name, the header is compact JSON padded
 * with spaces to a multiple of 8 bytes, and {@code __metadata__} is {@code {"format":"pt"}} unless
 * set otherwise — what the reference Python implementation writes. Tensor data can be supplied
 * lazily so that a merge can stream a large model tensor by tensor.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Entry(
      String name, DType dtype, long[] shape, long bytes, Supplier<ByteBuffer> data) {}

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final Map<String, String> metadata = new LinkedHashMap<>(Map.of("format", "pt"));

  /** Adds or replaces a {@code __metadata__} entry. */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** Adds a tensor from float values, converted to {@code dtype} (F32, F16, BF16 or F64). */
  public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
    long count = elementCount(name, shape);
    if (count != values.length) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "': shape "
              + Arrays.toString(shape)
              + " has "
              + count
              + " elements but "
              + values.length
              + " values were given");
    }
    float[] copy = values.clone();
    return addLazy(name, dtype, shape, () -> encode(dtype, copy));
  }

  /** Adds a tensor from raw little-endian bytes already in {@code dtype}. */
  public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] data) {
    long bytes = elementCount(name, shape) * dtype.byteSize();
    if (bytes != data.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': needs " + bytes + " bytes, " + data.length + " given");
    }
    byte[] copy = data.clone();
    return addLazy(name, dtype, shape, () -> ByteBuffer.wrap(copy));
  }

  /**
   * Adds a tensor whose bytes are produced only when the file is written, in the order the file
   * lays them out; the supplier must return exactly {@code elements × dtype size} bytes.
   */
  public SafetensorsWriter addLazy(
      String name, DType dtype, long[] shape, Supplier<ByteBuffer> data) {
    if (name.equals("__metadata__")) {
      throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
    }
    long bytes = Math.multiplyExact(elementCount(name, shape), (long) dtype.byteSize());
    if (entries.putIfAbsent(name, new Entry(name, dtype, shape.clone(), bytes, data)) != null) {
      throw new IllegalArgumentException("tensor '" + name + "' added twice");
    }
    return this;
  }

  /** Writes the file (replacing any existing one). */
  public void write(Path file) {
    List<Entry> ordered = ordered();
    byte[] header = header(ordered);
    try (FileChannel out =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      prefix.putLong(0, header.length);
      writeFully(out, prefix);
      writeFully(out, ByteBuffer.wrap(header));
      for (Entry e : ordered) {
        ByteBuffer data = e.data().get().duplicate();
        if (data.remaining() != e.bytes()) {
          throw new IllegalStateException(
              "tensor '"
                  + e.name()
                  + "': supplier gave "
                  + data.remaining()
                  + " bytes, expected "
                  + e.bytes());
        }
        writeFully(out, data);
      }
      out.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The whole file as bytes (small files: adapters, tests). */
  public byte[] toBytes() {
    List<Entry> ordered = ordered();
    byte[] header = header(ordered);
    long total = 8L + header.length;
    for (Entry e : ordered) {
      total += e.bytes();
    }
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(total)).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(header.length).put(header);
    for (Entry e : ordered) {
      out.put(e.data().get().duplicate());
    }
    return out.array();
  }

  private List<Entry> ordered() {
    List<Entry> ordered = new ArrayList<>(entries.values());
    ordered.sort(
        Comparator.comparingInt((Entry e) -> -e.dtype().byteSize()).thenComparing(Entry::name));
    return ordered;
  }

  private byte[] header(List<Entry> ordered) {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Entry e : ordered) {
      ObjectNode node = root.putObject(e.name());
      node.put("dtype", e.dtype().name());
      ArrayNode shape = node.putArray("shape");
      for (long d : e.shape()) {
        shape.add(d);
      }
      ArrayNode offsets = node.putArray("data_offsets");
      offsets.add(offset);
      offsets.add(offset + e.bytes());
      offset += e.bytes();
    }
    String json;
    try {
      json = JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode a safetensors header", e);
    }
    StringBuilder padded = new StringBuilder(json);
    while (padded.length() % 8 != 0) {
      padded.append(' ');
    }
    return padded.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Encodes floats as little-endian {@code dtype} bytes. */
  public static ByteBuffer encode(DType dtype, float[] values) {
    ByteBuffer out =
        ByteBuffer.allocate(values.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case F32 -> out.asFloatBuffer().put(values);
      case F64 -> {
        for (float v : values) {
          out.putDouble(v);
        }
      }
      case BF16 -> {
        for (float v : values) {
          out.putShort(HalfFloats.floatToBf16(v));
        }
      }
      case F16 -> {
        for (float v : values) {
          out.putShort(HalfFloats.floatToF16(v));
        }
      }
      default -> throw new IllegalArgumentException("cannot write floats as " + dtype);
    }
    out.position(0);
    return out;
  }

  private static long elementCount(String name, long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }
}
