package dev.lorafleet.common.model;

/**
 * Llama 3's {@code rope_scaling} ({@code rope_type: "llama3"}): long wavelengths are divided by
 * {@code factor}, short ones kept, and the band between blended smoothly.
 */
public record RopeScaling(
    double factor,
    double lowFreqFactor,
    double highFreqFactor,
    int originalMaxPositionEmbeddings) {}
