package dev.lorafleet.coordinator.k8s;

/**
 * One worker pod as {@code GET /api/v1/workers} shows it.
 *
 * @param name the pod's name ({@code <statefulset>-<ordinal>})
 * @param phase Pending, Running, ... ({@code "Missing"} when the pod does not exist yet)
 * @param ready whether it passes its readiness probe
 * @param node the node it runs on, or null before it is scheduled
 * @param reason why it is not ready, from its conditions and container states; null when ready
 */
public record WorkerPod(String name, String phase, boolean ready, String node, String reason) {}
