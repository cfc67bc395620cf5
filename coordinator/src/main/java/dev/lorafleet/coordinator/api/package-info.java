/**
 * The coordinator's HTTP API (Pekko HTTP routes, bearer token, size limits, JSON errors) and the
 * one interface, {@link dev.lorafleet.coordinator.api.JobService}, through which it talks to the
 * rest of the coordinator; the view records are shared with the command line clients.
 */
package dev.lorafleet.coordinator.api;
