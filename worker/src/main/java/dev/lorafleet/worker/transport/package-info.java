/**
 * A worker's side of the Aeron data plane: send this step's gradient sum, receive adapter
 * parameters. Plain Java (no Pekko): the worker's cluster actor passes the coordinator's endpoints
 * in and the training loop calls it.
 */
package dev.lorafleet.worker.transport;
