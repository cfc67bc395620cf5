package dev.lorafleet.common.wire;

/**
 * How the elements of an adapter vector are encoded on the wire. The sum on the coordinator is
 * always kept in fp32, whatever the wire dtype: bf16 only halves the bytes that travel.
 */
public enum WireDtype {
  /** IEEE-754 binary32, little-endian: exact. */
  FP32((byte) 1, 4),
  /**
   * The upper 16 bits of the fp32 value, rounded to nearest even: half the bytes, 8-bit mantissa.
   */
  BF16((byte) 2, 2);

  private final byte code;
  private final int bytesPerElement;

  WireDtype(byte code, int bytesPerElement) {
    this.code = code;
    this.bytesPerElement = bytesPerElement;
  }

  /** The byte written in the frame header. */
  public byte code() {
    return code;
  }

  public int bytesPerElement() {
    return bytesPerElement;
  }

  /**
   * The dtype for a header byte, or {@code null} when the byte names no dtype (a corrupt frame).
   */
  public static WireDtype fromCode(byte code) {
    return switch (code) {
      case 1 -> FP32;
      case 2 -> BF16;
      default -> null;
    };
  }
}
