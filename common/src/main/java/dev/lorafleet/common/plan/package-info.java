/**
 * Planning before renting: exact parameter counts, memory per GPU and its parts, which GPUs a job
 * fits on, how the global batch spreads over the fleet, and time and money per epoch. Needs only a
 * model's {@code config.json} and the job spec; token counts come from the caller.
 */
package dev.lorafleet.common.plan;
