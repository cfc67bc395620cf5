package dev.lorafleet.common.plan;

/**
 * The GPU memory sizes people rent, in decimal gigabytes as sold. Real cards offer at least this
 * many bytes (an "80 GB" A100 reports 81,920 MiB, an L4 23,034 MiB = 24.2·10⁹ bytes), so fitting in
 * {@code gigabytes·10⁹} bytes is a slightly conservative test.
 */
public enum GpuClass {
  GB24(24, "RTX 4090, A10, L4"),
  GB40(40, "A100 40GB"),
  GB48(48, "L40S, RTX 6000 Ada, A6000"),
  GB80(80, "A100 80GB, H100"),
  GB141(141, "H200");

  private final int gigabytes;
  private final String examples;

  GpuClass(int gigabytes, String examples) {
    this.gigabytes = gigabytes;
    this.examples = examples;
  }

  public int gigabytes() {
    return gigabytes;
  }

  /** Cards of this size, for people. */
  public String examples() {
    return examples;
  }

  /** The bytes a job may use on such a GPU. */
  public long capacityBytes() {
    return gigabytes * 1_000_000_000L;
  }

  /** {@code 24GB}, the key in plans. */
  public String label() {
    return gigabytes + "GB";
  }
}
