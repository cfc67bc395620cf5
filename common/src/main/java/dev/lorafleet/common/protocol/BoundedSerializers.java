package dev.lorafleet.common.protocol;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Kryo serializers for strings, primitive arrays and lists that check every declared length against
 * a hard cap and against the bytes left in the frame before allocating. Kryo's own ones allocate
 * whatever a frame declares, so a frame claiming a 2^31-element array would exhaust the heap of the
 * node that reads it.
 */
final class BoundedSerializers {
  private BoundedSerializers() {}

  /** Reads a length written as {@code length + 1} (0 = null) and checks it. Returns -1 for null. */
  static int readLength(Input input, int maxElements, int minBytesPerElement, String what) {
    int encoded = input.readVarInt(true);
    if (encoded == 0) {
      return -1;
    }
    long length = (encoded & 0xFFFFFFFFL) - 1;
    long remaining = (long) input.limit() - input.position();
    if (length > maxElements || length * minBytesPerElement > remaining) {
      throw new KryoException(
          "refusing a frame that declares a "
              + length
              + "-element "
              + what
              + " (limit "
              + maxElements
              + " elements, "
              + remaining
              + " bytes left in the frame)");
    }
    return (int) length;
  }

  static void writeLength(Output output, int length) {
    output.writeVarInt(length + 1, true);
  }

  static final class StringSerializer extends Serializer<String> {
    private final int maxBytes;

    StringSerializer(int maxBytes) {
      this.maxBytes = maxBytes;
      setImmutable(true);
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, String value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      writeLength(output, utf8.length);
      output.writeBytes(utf8);
    }

    @Override
    public String read(Kryo kryo, Input input, Class<? extends String> type) {
      int length = readLength(input, maxBytes, 1, "string");
      return length < 0 ? null : new String(input.readBytes(length), StandardCharsets.UTF_8);
    }
  }

  static final class ByteArraySerializer extends Serializer<byte[]> {
    private final int max;

    ByteArraySerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, byte[] value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, value.length);
      output.writeBytes(value);
    }

    @Override
    public byte[] read(Kryo kryo, Input input, Class<? extends byte[]> type) {
      int length = readLength(input, max, 1, "byte array");
      return length < 0 ? null : input.readBytes(length);
    }
  }

  static final class IntArraySerializer extends Serializer<int[]> {
    private final int max;

    IntArraySerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, int[] value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, value.length);
      output.writeInts(value, 0, value.length, true);
    }

    @Override
    public int[] read(Kryo kryo, Input input, Class<? extends int[]> type) {
      int length = readLength(input, max, 1, "int array");
      return length < 0 ? null : input.readInts(length, true);
    }
  }

  static final class LongArraySerializer extends Serializer<long[]> {
    private final int max;

    LongArraySerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, long[] value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, value.length);
      output.writeLongs(value, 0, value.length, true);
    }

    @Override
    public long[] read(Kryo kryo, Input input, Class<? extends long[]> type) {
      int length = readLength(input, max, 1, "long array");
      return length < 0 ? null : input.readLongs(length, true);
    }
  }

  static final class FloatArraySerializer extends Serializer<float[]> {
    private final int max;

    FloatArraySerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, float[] value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, value.length);
      output.writeFloats(value, 0, value.length);
    }

    @Override
    public float[] read(Kryo kryo, Input input, Class<? extends float[]> type) {
      int length = readLength(input, max, 4, "float array");
      return length < 0 ? null : input.readFloats(length);
    }
  }

  static final class DoubleArraySerializer extends Serializer<double[]> {
    private final int max;

    DoubleArraySerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, double[] value) {
      if (value == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, value.length);
      output.writeDoubles(value, 0, value.length);
    }

    @Override
    public double[] read(Kryo kryo, Input input, Class<? extends double[]> type) {
      int length = readLength(input, max, 8, "double array");
      return length < 0 ? null : input.readDoubles(length);
    }
  }

  /**
   * Any {@link List} travels as its elements (each with its registered class) and comes back
   * unmodifiable. Elements of unregistered classes are refused by Kryo itself.
   */
  @SuppressWarnings("rawtypes")
  static final class ListSerializer extends Serializer<List> {
    private final int max;

    ListSerializer(int max) {
      this.max = max;
      setAcceptsNull(true);
    }

    @Override
    public void write(Kryo kryo, Output output, List list) {
      if (list == null) {
        writeLength(output, -1);
        return;
      }
      writeLength(output, list.size());
      for (Object element : list) {
        kryo.writeClassAndObject(output, element);
      }
    }

    @Override
    public List read(Kryo kryo, Input input, Class<? extends List> type) {
      int length = readLength(input, max, 1, "list");
      if (length < 0) {
        return null;
      }
      List<Object> list = new ArrayList<>(length);
      for (int i = 0; i < length; i++) {
        list.add(kryo.readClassAndObject(input));
      }
      return Collections.unmodifiableList(list);
    }
  }
}
