/**
 * The coordinator's side of the cluster: the worker registry (who is alive, with how many devices,
 * under which membership epoch), routing of worker messages to job runners, and serving datasets to
 * workers in chunks by content hash.
 */
package dev.lorafleet.coordinator.cluster;
