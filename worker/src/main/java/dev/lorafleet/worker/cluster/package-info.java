/**
 * A worker node's control plane: joins the Pekko cluster with role {@code worker}, announces itself
 * to the coordinator found through the Receptionist, fetches datasets by content hash, and runs
 * each assigned step's share on its own executor (the training itself is plain Java behind {@link
 * dev.lorafleet.worker.cluster.JobCompute}). Also the Kryo serializer both JVMs use.
 */
package dev.lorafleet.worker.cluster;
