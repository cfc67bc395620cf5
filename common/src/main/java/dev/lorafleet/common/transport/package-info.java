/**
 * The Aeron data plane: adapter gradients from workers to the coordinator and adapter parameters
 * back, never over the Pekko control plane.
 *
 * <p>Entry points: {@link dev.lorafleet.common.transport.CoordinatorDataPlane} (the coordinator's
 * side: {@code gather} and {@code broadcast}) and {@code
 * dev.lorafleet.worker.transport.WorkerDataPlane} (a worker's side). Frames are defined in {@link
 * dev.lorafleet.common.wire.VectorFrame}.
 *
 * <p>Threads: this package is the one place in {@code common} that runs threads of its own, the
 * embedded media driver's and the coordinator's data-plane agent. Classes are named by role, as in
 * Aeron: {@code …Agent} runs a duty cycle, {@code …Publisher} encodes and offers, {@code …Adapter}
 * polls and decodes, {@code …Proxy} hands commands from the control plane to the agent's thread.
 */
package dev.lorafleet.common.transport;
