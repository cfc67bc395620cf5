package dev.lorafleet.common.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.agrona.concurrent.UnsafeBuffer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataPlaneDriverTest {
  @TempDir Path parent;

  private DataPlaneConfig config() {
    return DataPlaneConfig.defaults().withDriverDirectoryParent(parent).withTermLength(1 << 16);
  }

  @Test
  void deletesItsDirectoryOnClose() {
    Path directory;
    try (DataPlaneDriver driver = DataPlaneDriver.launchEmbedded(config(), "test")) {
      directory = Path.of(driver.directory());
      assertThat(directory).isDirectory().startsWith(parent);
      assertThat(directory.getFileName().toString())
          .startsWith("lorafleet-test-" + ProcessHandle.current().pid() + "-");
    }
    assertThat(Files.exists(directory)).isFalse();
  }

  @Test
  void twoDriversOnOneMachineKeepTheirStreamsApart() {
    try (DataPlaneDriver first = DataPlaneDriver.launchEmbedded(config(), "coordinator");
        DataPlaneDriver second = DataPlaneDriver.launchEmbedded(config(), "coordinator")) {
      assertThat(first.directory()).isNotEqualTo(second.directory());
      Subscription inSecond = second.aeron().addSubscription("aeron:ipc", 7);
      Subscription inFirst = first.aeron().addSubscription("aeron:ipc", 7);
      ExclusivePublication fromFirst = first.aeron().addExclusivePublication("aeron:ipc", 7);
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(fromFirst::isConnected);
      UnsafeBuffer message = new UnsafeBuffer(new byte[8]);
      Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> fromFirst.offer(message, 0, 8) > 0);
      int[] received = new int[1];
      Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> (received[0] += inFirst.poll((b, o, l, h) -> {}, 10)) == 1);
      assertThat(inSecond.poll((b, o, l, h) -> {}, 10)).isZero();
      assertThat(inSecond.imageCount()).isZero();
    }
    try (java.util.stream.Stream<Path> left = list(parent)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void failsClearlyWhenTheDirectoryCannotBeCreated() throws Exception {
    Path file = Files.createFile(parent.resolve("not-a-directory"));
    DataPlaneConfig config = config().withDriverDirectoryParent(file.resolve("sub"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> DataPlaneDriver.launchEmbedded(config, "test"))
        .isInstanceOf(DataPlaneException.class)
        .hasMessageContaining(file.resolve("sub").toString());
  }

  private static java.util.stream.Stream<Path> list(Path dir) {
    try {
      return Files.list(dir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
