package dev.lorafleet.common.protocol;

/**
 * Coordinator → worker, in answer to its announcement: where the coordinator's data plane listens,
 * and which coordinator incarnation speaks (a restarted coordinator has a new one, and workers drop
 * what the old one asked).
 *
 * @param dataPlaneEndpoints the coordinator's encoded data-plane endpoints
 * @param incarnation a number unique to this coordinator process
 */
public record CoordinatorHello(String dataPlaneEndpoints, long incarnation)
    implements ControlMessage {}
