package dev.lorafleet.common.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A validated, read-only view of one {@code .safetensors} file: an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the data. The header
 * is checked completely on open (so a corrupt file fails before any weight is used); tensor data is
 * memory-mapped on demand, one tensor at a time.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Headers beyond this are refused as corrupt (the reference implementation uses 100 MB). */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path,
      FileChannel channel,
      long dataStart,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /**
   * Opens and validates a safetensors file.
   *
   * @throws SafetensorsException naming the file and the defect (truncated, header past the end,
   *     header not JSON, bad dtype or shape, overlapping or short byte ranges, a pickle file)
   */
  public static SafetensorsFile open(Path path) {
    String fileName = path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (fileName.endsWith(".bin") || fileName.endsWith(".pt") || fileName.endsWith(".pth")) {
      throw new SafetensorsException(
          path,
          "is a PyTorch pickle checkpoint; lorafleet reads only safetensors (it never unpickles"
              + " untrusted files). Convert it, e.g. with transformers' save_pretrained(...,"
              + " safe_serialization=True)");
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new SafetensorsException(path, "cannot open: " + e.getMessage(), e);
    }
    try {
      SafetensorsFile file = parse(path, channel);
      return file;
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  private static SafetensorsFile parse(Path path, FileChannel channel) {
    long size;
    ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    try {
      size = channel.size();
      if (size < 8) {
        throw new SafetensorsException(
            path, "truncated: " + size + " bytes, shorter than the 8-byte header length");
      }
      readFully(channel, prefix, 0);
    } catch (IOException e) {
      throw new SafetensorsException(path, "cannot read: " + e.getMessage(), e);
    }
    long headerLength = prefix.getLong(0);
    if (headerLength < 0 || headerLength > size - 8) {
      // only a prefix that is no valid length is worth a second look: a real header of 640
      // bytes also starts with 0x80 0x02
      byte[] magic = prefix.array();
      if ((magic[0] & 0xFF) == 0x80 && magic[1] >= 2 && magic[1] <= 5) {
        throw new SafetensorsException(
            path,
            "is a Python pickle (PyTorch .bin checkpoint), not safetensors; convert it first");
      }
      if (magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
        throw new SafetensorsException(
            path,
            "is a zip archive (PyTorch torch.save checkpoint), not safetensors; convert it first");
      }
      throw new SafetensorsException(
          path,
          "header length "
              + Long.toUnsignedString(headerLength)
              + " runs past the end of the file ("
              + size
              + " bytes): truncated or not a safetensors file");
    }
    if (headerLength > MAX_HEADER_BYTES) {
      throw new SafetensorsException(
          path, "header length " + headerLength + " exceeds the 100 MB limit: corrupt file");
    }
    ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
    try {
      readFully(channel, headerBytes, 8);
    } catch (IOException e) {
      throw new SafetensorsException(path, "cannot read header: " + e.getMessage(), e);
    }
    String headerText = new String(headerBytes.array(), StandardCharsets.UTF_8);
    JsonNode header;
    try {
      header = JSON.readTree(headerText);
    } catch (JsonProcessingException e) {
      throw new SafetensorsException(
          path, "header is not JSON: " + e.getOriginalMessage() + " (corrupt file?)", e);
    }
    if (header == null || !header.isObject()) {
      throw new SafetensorsException(path, "header is not a JSON object (corrupt file?)");
    }
    long dataStart = 8 + headerLength;
    long dataLength = size - dataStart;
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String name = field.getKey();
      JsonNode node = field.getValue();
      if (name.equals("__metadata__")) {
        if (!node.isObject()) {
          throw new SafetensorsException(path, "__metadata__ is not a JSON object");
        }
        node.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      tensors.put(name, parseEntry(path, name, node));
    }
    checkRanges(path, tensors, dataLength);
    return new SafetensorsFile(
        path,
        channel,
        dataStart,
        Collections.unmodifiableMap(tensors),
        Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path path, String name, JsonNode node) {
    String where = "tensor '" + name + "'";
    if (!node.isObject()) {
      throw new SafetensorsException(path, where + ": entry is not a JSON object");
    }
    JsonNode dtypeNode = node.get("dtype");
    JsonNode shapeNode = node.get("shape");
    JsonNode offsetsNode = node.get("data_offsets");
    if (dtypeNode == null || shapeNode == null || offsetsNode == null) {
      throw new SafetensorsException(
          path, where + ": entry needs dtype, shape and data_offsets, has " + node);
    }
    DType dtype;
    try {
      dtype = DType.parse(dtypeNode.asText());
    } catch (IllegalArgumentException e) {
      throw new SafetensorsException(path, where + ": " + e.getMessage(), e);
    }
    if (!shapeNode.isArray()) {
      throw new SafetensorsException(path, where + ": shape is not an array");
    }
    long[] shape = new long[shapeNode.size()];
    long bytes = dtype.byteSize();
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong() || d.asLong() < 0) {
        throw new SafetensorsException(path, where + ": bad dimension " + d + " in shape");
      }
      shape[i] = d.asLong();
      try {
        bytes = Math.multiplyExact(bytes, shape[i]);
      } catch (ArithmeticException e) {
        throw new SafetensorsException(
            path, where + ": shape " + shapeNode + " × " + dtype + " overflows 64 bits", e);
      }
    }
    if (!offsetsNode.isArray()
        || offsetsNode.size() != 2
        || !offsetsNode.get(0).canConvertToLong()
        || !offsetsNode.get(1).canConvertToLong()) {
      throw new SafetensorsException(
          path, where + ": data_offsets must be [begin, end], is " + offsetsNode);
    }
    long begin = offsetsNode.get(0).asLong();
    long end = offsetsNode.get(1).asLong();
    if (begin < 0 || end < begin) {
      throw new SafetensorsException(path, where + ": bad data_offsets " + offsetsNode);
    }
    if (end - begin != bytes) {
      throw new SafetensorsException(
          path,
          where
              + ": data_offsets "
              + offsetsNode
              + " span "
              + (end - begin)
              + " bytes but shape "
              + shapeNode
              + " of "
              + dtype
              + " needs "
              + bytes);
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static void checkRanges(Path path, Map<String, TensorInfo> tensors, long dataLength) {
    List<TensorInfo> byBegin = new ArrayList<>(tensors.values());
    byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    TensorInfo previous = null;
    for (TensorInfo t : byBegin) {
      if (previous != null && t.begin() < previous.end()) {
        throw new SafetensorsException(
            path,
            "tensors '"
                + previous.name()
                + "' ["
                + previous.begin()
                + ", "
                + previous.end()
                + ") and '"
                + t.name()
                + "' ["
                + t.begin()
                + ", "
                + t.end()
                + ") overlap: corrupt file");
      }
      if (t.end() > dataLength) {
        throw new SafetensorsException(
            path,
            "truncated: tensor '"
                + t.name()
                + "' ends at data byte "
                + t.end()
                + " but the file holds only "
                + dataLength
                + " data bytes");
      }
      previous = t;
    }
  }

  /** The file this view reads. */
  public Path path() {
    return path;
  }

  /** Tensor entries in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The header's {@code __metadata__} (empty when absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Whether the file has a tensor of this name. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The tensor's header entry. */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new SafetensorsException(path, "no tensor named '" + name + "'");
    }
    return info;
  }

  /**
   * The tensor's raw little-endian bytes, memory-mapped and read-only.
   *
   * @throws SafetensorsException when the tensor is larger than one buffer can hold (2 GiB)
   */
  public ByteBuffer bytes(String name) {
    TensorInfo info = info(name);
    if (info.byteLength() > Integer.MAX_VALUE) {
      throw new SafetensorsException(
          path, "tensor '" + name + "' is " + info.byteLength() + " bytes, over the 2 GiB limit");
    }
    try {
      return channel
          .map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteLength())
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new SafetensorsException(
          path, "cannot map tensor '" + name + "': " + e.getMessage(), e);
    }
  }

  /**
   * The tensor's values converted to float (exact for F16/BF16/F32; F64 rounds).
   *
   * @throws SafetensorsException for integer tensors
   */
  public float[] readFloats(String name) {
    TensorInfo info = info(name);
    if (!info.dtype().isFloating()) {
      throw new SafetensorsException(
          path, "tensor '" + name + "' is " + info.dtype() + ", not a floating-point tensor");
    }
    ByteBuffer buffer = bytes(name);
    int n = Math.toIntExact(info.elementCount());
    float[] out = new float[n];
    switch (info.dtype()) {
      case F32 -> buffer.asFloatBuffer().get(out);
      case F64 -> {
        var doubles = buffer.asDoubleBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = (float) doubles.get(i);
        }
      }
      case BF16 -> {
        var shorts = buffer.asShortBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.bf16ToFloat(shorts.get(i));
        }
      }
      case F16 -> {
        var shorts = buffer.asShortBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.f16ToFloat(shorts.get(i));
        }
      }
      default -> throw new IllegalStateException("unreachable: " + info.dtype());
    }
    return out;
  }

  /** The values of an I64 tensor (for example position ids). */
  public long[] readLongs(String name) {
    TensorInfo info = info(name);
    if (info.dtype() != DType.I64) {
      throw new SafetensorsException(
          path, "tensor '" + name + "' is " + info.dtype() + ", not I64");
    }
    long[] out = new long[Math.toIntExact(info.elementCount())];
    bytes(name).asLongBuffer().get(out);
    return out;
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
      throws IOException {
    long pos = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing was written; a failed close of a read-only channel loses nothing
    }
  }
}
