package dev.lorafleet.worker.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceMemoryProbeTest {

  @Test
  void reportsTheCpuOnceHoweverManyCpuDevicesAreListed() {
    List<DeviceMemoryProbe.DeviceMemory> read =
        DeviceMemoryProbe.forDevices(List.of(Device.cpu(), Device.cpu())).read();

    assertThat(read).singleElement().satisfies(m -> assertThat(m.device()).isEqualTo("cpu"));
  }

  @Test
  void labelsGpusByIndex() {
    assertThat(DeviceMemoryProbe.label(Device.gpu(3))).isEqualTo("gpu3");
    assertThat(DeviceMemoryProbe.label(Device.cpu())).isEqualTo("cpu");
  }

  @Test
  void readsEachGpusMemoryFromCuda() {
    assumeTrue(CudaUtils.hasCuda() && CudaUtils.getGpuCount() > 0, "no CUDA GPU on this machine");
    List<Device> gpus = new java.util.ArrayList<>();
    for (int i = 0; i < CudaUtils.getGpuCount(); i++) {
      gpus.add(Device.gpu(i));
    }

    List<DeviceMemoryProbe.DeviceMemory> read = DeviceMemoryProbe.forDevices(gpus).read();

    assertThat(read).hasSize(gpus.size());
    for (DeviceMemoryProbe.DeviceMemory m : read) {
      assertThat(m.device()).startsWith("gpu");
      assertThat(m.totalBytes()).isGreaterThan(1L << 30);
      assertThat(m.usedBytes()).isBetween(0L, m.totalBytes());
    }
  }
}
