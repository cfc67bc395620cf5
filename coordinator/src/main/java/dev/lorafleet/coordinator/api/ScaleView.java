package dev.lorafleet.coordinator.api;

/**
 * The answer to {@code POST /api/v1/workers/scale}: the worker count asked for and how many workers
 * are in the cluster right now (they join as the nodes come up).
 */
public record ScaleView(int replicas, int currentWorkers) {}
