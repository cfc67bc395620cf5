package dev.lorafleet.worker.cluster;

/**
 * What the coordinator's worker registry accepts. Declared here (not in the coordinator module) so
 * that workers can hold a typed reference to it; the registry's private messages implement it too.
 */
public interface CoordinatorInbound {}
