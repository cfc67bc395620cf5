package dev.lorafleet.common.wire;

import java.util.Locale;

/** Element types of a safetensors tensor, by their names in the header. */
public enum DType {
  F64(8),
  F32(4),
  F16(2),
  BF16(2),
  I64(8),
  I32(4),
  I16(2),
  I8(1),
  U8(1),
  BOOL(1);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** Whether {@link SafetensorsFile#readFloats} can convert this type to float. */
  public boolean isFloating() {
    return this == F64 || this == F32 || this == F16 || this == BF16;
  }

  /**
   * The dtype for a safetensors header name ({@code "BF16"}) or a Hugging Face {@code torch_dtype}
   * ({@code "bfloat16"}).
   *
   * @throws IllegalArgumentException naming the unknown type
   */
  public static DType parse(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "f64", "float64", "double" -> F64;
      case "f32", "float32", "float" -> F32;
      case "f16", "float16", "half" -> F16;
      case "bf16", "bfloat16" -> BF16;
      case "i64", "int64" -> I64;
      case "i32", "int32" -> I32;
      case "i16", "int16" -> I16;
      case "i8", "int8" -> I8;
      case "u8", "uint8" -> U8;
      case "bool" -> BOOL;
      default ->
          throw new IllegalArgumentException(
              "unknown dtype '"
                  + name
                  + "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    };
  }
}
