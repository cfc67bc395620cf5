package dev.lorafleet.worker.metrics;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads how much memory each device a worker trains on holds, at scrape time.
 *
 * <p>On a GPU this is the device-wide figure CUDA reports ({@code cudaMemGetInfo}: total minus
 * free, the number {@code nvidia-smi} shows, including PyTorch's caching allocator). On the CPU
 * there is no device memory to speak of, so the probe reports the process's resident set (which
 * holds the JVM heap and PyTorch's native tensors) against the machine's physical memory, under
 * {@code device="cpu"}.
 */
@FunctionalInterface
public interface DeviceMemoryProbe {

  /** One device's memory at the moment of reading. */
  record DeviceMemory(String device, long usedBytes, long totalBytes) {}

  /**
   * The current figures, one per device; never throws (a device that cannot be read is left out).
   */
  List<DeviceMemory> read();

  /**
   * A probe for the devices the worker trains on: CUDA devices via DJL, the CPU via the process.
   */
  static DeviceMemoryProbe forDevices(List<Device> devices) {
    List<Device> copy = List.copyOf(devices);
    return () -> {
      List<DeviceMemory> out = new ArrayList<>(copy.size());
      boolean cpuDone = false;
      for (Device device : copy) {
        if (device.isGpu()) {
          gpu(device, out);
        } else if (!cpuDone) {
          out.add(cpu());
          cpuDone = true;
        }
      }
      return out;
    };
  }

  /** The label value for a device: {@code gpu0}, {@code gpu1}, … or {@code cpu}. */
  static String label(Device device) {
    return device.isGpu() ? "gpu" + device.getDeviceId() : "cpu";
  }

  private static void gpu(Device device, List<DeviceMemory> out) {
    try {
      MemoryUsage usage = CudaUtils.getGpuMemory(device);
      out.add(new DeviceMemory(label(device), usage.getUsed(), usage.getMax()));
    } catch (RuntimeException | LinkageError e) {
      // a GPU that cannot be queried simply has no series this scrape; training is unaffected
    }
  }

  /** The process's resident memory against the machine's physical memory. */
  static DeviceMemory cpu() {
    long total = physicalMemoryBytes();
    long used = residentSetBytes();
    return new DeviceMemory("cpu", used, total);
  }

  private static long physicalMemoryBytes() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return Runtime.getRuntime().maxMemory();
  }

  private static long residentSetBytes() {
    Path status = Path.of("/proc/self/status");
    if (Files.isReadable(status)) {
      try {
        for (String line : Files.readAllLines(status)) {
          if (line.startsWith("VmRSS:")) {
            // "VmRSS:    123456 kB"
            String[] parts = line.substring(6).trim().split("\\s+");
            return Long.parseLong(parts[0]) * 1024L;
          }
        }
      } catch (IOException | NumberFormatException e) {
        // fall through to the JVM's own view below
      }
    }
    // not Linux: the JVM's heap and non-heap is the honest lower bound we can see
    var memory = ManagementFactory.getMemoryMXBean();
    return memory.getHeapMemoryUsage().getUsed() + memory.getNonHeapMemoryUsage().getUsed();
  }
}
