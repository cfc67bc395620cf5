/**
 * Worker scaling on Kubernetes. What the worker StatefulSet should hold is decided by pure
 * functions ({@link dev.lorafleet.coordinator.k8s.ReplicaPlanner}, {@link
 * dev.lorafleet.coordinator.k8s.PodReadiness}); {@link
 * dev.lorafleet.coordinator.k8s.KubernetesWorkerScaler} is the thin class that talks to the API
 * server. Nothing here uses Pekko: an actor calls a {@link
 * dev.lorafleet.coordinator.k8s.WorkerScaler} on a blocking executor and pipes the result back.
 */
package dev.lorafleet.coordinator.k8s;
