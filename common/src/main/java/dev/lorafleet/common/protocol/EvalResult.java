package dev.lorafleet.common.protocol;

/**
 * Worker → coordinator: summed loss and token count of an eval share (scalars only), or the reason
 * it failed.
 */
public record EvalResult(
    String jobId,
    long step,
    String workerId,
    int evalIndex,
    double lossSum,
    long tokens,
    int examples,
    String error)
    implements ControlMessage {}
