package dev.lorafleet.common.protocol;

/**
 * Marker for every message that crosses the control plane. The cluster configuration binds this
 * type to our Kryo serializer, so nothing else (and never Java serialization) goes on the wire.
 */
public interface ControlMessage {}
