package dev.lorafleet.common.protocol;

/**
 * A dataset as the coordinator offers it: workers fetch the bytes by content hash and cache them,
 * so nodes need no shared storage and a dataset used by several jobs travels once.
 *
 * @param name the spec's name for it (file name for training sets, eval name for eval sets)
 * @param contentHash lowercase hex SHA-256 of the file's bytes
 * @param sizeBytes the file's length
 */
public record DatasetRef(String name, String contentHash, long sizeBytes)
    implements ControlMessage {}
