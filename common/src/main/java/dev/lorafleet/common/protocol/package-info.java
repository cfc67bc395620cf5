/**
 * Control-plane messages between the coordinator and the workers (plain records, no actor
 * references) and the Kryo registrar that gives each one a fixed id. Gradients and parameters never
 * travel here: they go over the Aeron data plane.
 */
package dev.lorafleet.common.protocol;
