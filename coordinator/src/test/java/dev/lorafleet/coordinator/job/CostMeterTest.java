package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class CostMeterTest {
  private final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void chargesDevicesTimesHoursTimesPriceFromTheMomentWorkersAreHeld() {
    CostMeter meter = new CostMeter(2.5);
    meter.hold("a", 8, t0);
    meter.hold("b", 4, t0.plusSeconds(1800));
    // a: 8 devices × 1 h, b: 4 × 0.5 h
    assertThat(meter.gpuHours(t0.plusSeconds(3600))).isCloseTo(10.0, within(1e-9));
    assertThat(meter.cost(t0.plusSeconds(3600))).isCloseTo(25.0, within(1e-9));
    assertThat(meter.devicesHeld()).isEqualTo(12);
  }

  @Test
  void stopsChargingAReleasedWorker() {
    CostMeter meter = new CostMeter(1.0);
    meter.hold("a", 2, t0);
    meter.release("a", t0.plusSeconds(3600));
    assertThat(meter.gpuHours(t0.plusSeconds(7200))).isCloseTo(2.0, within(1e-9));
    meter.hold("a", 2, t0.plusSeconds(7200)); // came back
    meter.releaseAll(t0.plusSeconds(9000));
    assertThat(meter.gpuHours(t0.plusSeconds(99999))).isCloseTo(3.0, within(1e-9));
  }
}
