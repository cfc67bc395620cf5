package dev.lorafleet.worker.cluster;

/**
 * Marker for the cluster-layer envelopes; bound to {@link KryoPekkoSerializer} like the protocol.
 */
public interface ClusterMessage {}
