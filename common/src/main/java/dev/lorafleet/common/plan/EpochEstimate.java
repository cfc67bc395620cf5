package dev.lorafleet.common.plan;

/**
 * Time and money of one epoch; {@code seconds} and {@code cost} are null without a throughput.
 *
 * @param samples null when unknown (only a token total was given)
 */
public record EpochEstimate(int epoch, Long samples, long tokens, Double seconds, Double cost) {}
