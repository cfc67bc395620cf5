/**
 * Wire formats: safetensors files, and {@link dev.lorafleet.common.wire.VectorFrame}, how gradients
 * and parameters are framed on the Aeron data plane (one file: header layout, encoding, checksum,
 * validation).
 */
package dev.lorafleet.common.wire;
