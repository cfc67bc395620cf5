package dev.lorafleet.worker.metrics;

import dev.lorafleet.common.transport.DataPlaneCounters;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The drop reasons of {@link DataPlaneCounters} as values of the {@code reason} label of {@code
 * lorafleet_transport_dropped_frames_total}, shared by the coordinator's and the workers' metrics.
 */
public final class DataPlaneDrops {

  private DataPlaneDrops() {}

  /** Registers one scrape-time reader per drop reason with {@code register(reason, reader)}. */
  public static void register(
      Supplier<DataPlaneCounters> counters, BiConsumer<String, LongSupplier> register) {
    register.accept("duplicate", () -> counters.get().droppedDuplicate());
    register.accept("stale_step", () -> counters.get().droppedStaleStep());
    register.accept("unknown_job", () -> counters.get().droppedUnknownJob());
    register.accept("unknown_worker", () -> counters.get().droppedUnknownWorker());
    register.accept("malformed", () -> counters.get().droppedMalformed());
    register.accept("checksum", () -> counters.get().droppedChecksum());
  }
}
