package dev.lorafleet.common.plan;

/**
 * The training tokens of one epoch.
 *
 * @param epoch 0-based
 * @param samples examples trained in the epoch, or {@code null} when only a token total was given
 * @param tokens all input tokens of those examples (after truncation at {@code maxSeqLen}), prompt
 *     tokens included: the model runs over them all
 */
public record EpochTokens(int epoch, Long samples, long tokens) {}
