package dev.lorafleet.common.protocol;

/**
 * Coordinator → worker: a piece of a dataset's bytes, small enough for one cluster frame.
 *
 * @param contentHash which dataset
 * @param offset where {@code bytes} start in the file
 * @param bytes the piece (empty when {@code error} is set)
 * @param totalBytes the file's full length
 * @param error why the coordinator cannot serve it, or {@code null}
 */
public record DatasetChunk(
    String contentHash, long offset, byte[] bytes, long totalBytes, String error)
    implements ControlMessage {}
