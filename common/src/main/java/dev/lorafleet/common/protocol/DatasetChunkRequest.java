package dev.lorafleet.common.protocol;

/** Worker → coordinator: send me {@code maxBytes} of a dataset starting at {@code offset}. */
public record DatasetChunkRequest(String contentHash, long offset, int maxBytes)
    implements ControlMessage {}
