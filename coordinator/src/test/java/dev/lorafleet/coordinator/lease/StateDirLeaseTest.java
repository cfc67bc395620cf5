package dev.lorafleet.coordinator.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state-directory lease: one holder, a token that only grows, stale holders taken over. */
class StateDirLeaseTest {
  @TempDir Path dir;

  private static final LeaseRecord.Holder ME = new LeaseRecord.Holder("host-a", 101, "t0");
  private static final LeaseRecord.Holder OTHER = new LeaseRecord.Holder("host-b", 202, "t1");
  private final Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

  private StateDirLease take(LeaseRecord.Holder who) throws Exception {
    return StateDirLease.acquire(dir, who, Duration.ZERO, clock, d -> {});
  }

  private LeaseRecord record() throws IOException {
    return StateDirLease.read(dir.resolve(StateDirLease.LEASE_FILE)).orElseThrow();
  }

  @Test
  void firstHolderGetsTokenOneAndIsRecordedBesideTheLock() throws Exception {
    try (StateDirLease lease = take(ME)) {
      assertThat(lease.token()).isEqualTo(1);
      assertThat(Files.exists(dir.resolve(StateDirLease.LOCK_FILE))).isTrue();
      assertThat(record())
          .isEqualTo(new LeaseRecord(1, "host-a", 101, "t0", "2026-01-02T03:04:05Z", null));
      lease.verify();
      lease.renew();
    }
  }

  @Test
  void tokenGrowsWithEveryHolderAndACleanReleaseIsRecorded() throws Exception {
    List<Long> tokens = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      try (StateDirLease lease = take(i % 2 == 0 ? ME : OTHER)) {
        tokens.add(lease.token());
      }
      assertThat(record().released()).isEqualTo("2026-01-02T03:04:05Z");
    }
    assertThat(tokens).containsExactly(1L, 2L, 3L);
  }

  @Test
  void secondCoordinatorIsRefusedWithTheHolderNamed() throws Exception {
    try (StateDirLease first = take(ME)) {
      assertThatThrownBy(() -> take(OTHER))
          .isInstanceOf(LeaseHeldException.class)
          .hasMessageContaining("the state directory " + dir.toAbsolutePath().normalize())
          .hasMessageContaining("coordinator pid 101 on host host-a")
          .hasMessageContaining("fencing token 1")
          .hasMessageContaining("--lease-wait");
      // the refused one changed nothing
      assertThat(record().token()).isEqualTo(1);
      first.verify();
    }
  }

  @Test
  void waitingCoordinatorTakesOverWhenTheHolderLetsGo() throws Exception {
    StateDirLease first = take(ME);
    List<Duration> pauses = new ArrayList<>();
    try (StateDirLease second =
        StateDirLease.acquire(
            dir,
            OTHER,
            Duration.ofMinutes(5),
            Clock.systemUTC(),
            d -> {
              pauses.add(d);
              first.close(); // the holder stops while the second one waits
            })) {
      assertThat(second.token()).isEqualTo(2);
      assertThat(pauses).hasSize(1);
      assertThat(record().pid()).isEqualTo(202);
    }
  }

  @Test
  void waitingEndsWithTheHolderNamedWhenItNeverLetsGo() throws Exception {
    try (StateDirLease first = take(ME)) {
      Instant[] now = {Instant.parse("2026-01-02T03:04:05Z")};
      Clock moving =
          new Clock() {
            @Override
            public java.time.ZoneId getZone() {
              return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
              return this;
            }

            @Override
            public Instant instant() {
              return now[0];
            }
          };
      assertThatThrownBy(
              () ->
                  StateDirLease.acquire(
                      dir, OTHER, Duration.ofSeconds(3), moving, d -> now[0] = now[0].plus(d)))
          .isInstanceOf(LeaseHeldException.class)
          .hasMessageContaining("still after waiting 3 s")
          .hasMessageContaining("pid 101");
    }
  }

  @Test
  void corruptLeaseFileIsAClearErrorNamingTheFile() throws Exception {
    Path file = dir.resolve(StateDirLease.LEASE_FILE);
    Files.writeString(file, "{\"token\": \"seven\"");
    assertThatThrownBy(() -> take(ME))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("the coordinator lease file " + file)
        .hasMessageContaining("is unreadable")
        .hasMessageContaining("delete " + file);
    // the lock was let go: once the file is fixed, the lease can be taken
    Files.delete(file);
    try (StateDirLease lease = take(ME)) {
      assertThat(lease.token()).isEqualTo(1);
    }
  }

  @Test
  void leaseFileWithAZeroTokenIsRefused() throws Exception {
    Path file = dir.resolve(StateDirLease.LEASE_FILE);
    Files.writeString(
        file, "{\"token\":0,\"host\":\"h\",\"pid\":1,\"started\":\"s\",\"acquired\":\"a\"}");
    assertThatThrownBy(() -> take(ME))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("tokens start at 1");
  }

  @Test
  void holderThatLostTheDirectoryToANewerOneIsFencedOut() throws Exception {
    StateDirLease old = take(ME);
    LeaseKeeper keeper = LeaseKeeper.of(old);
    List<String> lost = new ArrayList<>();
    keeper.onLost(lost::add);
    keeper.check();
    // someone deletes the lock file: a second coordinator can now lock a new one
    Files.delete(dir.resolve(StateDirLease.LOCK_FILE));
    assertThatThrownBy(old::renew)
        .isInstanceOf(LeaseLostException.class)
        .hasMessageContaining("was deleted");
    try (StateDirLease newer = take(OTHER)) {
      assertThat(newer.token()).isEqualTo(2);
      assertThatThrownBy(keeper::check)
          .isInstanceOf(FencedOutException.class)
          .hasMessageContaining("fencing token 1")
          .hasMessageContaining("coordinator pid 202 on host host-b");
      assertThat(lost).singleElement().asString().contains("pid 202");
      keeper.close();
      // the old holder's release leaves the newer holder's record alone
      assertThat(record().token()).isEqualTo(2);
      assertThat(record().released()).isNull();
      newer.verify();
    }
  }

  @Test
  void anotherProcessHoldingTheLockIsRefusedAndTakenOverOnceItIsKilled() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process holder =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                TestingLeaseHolderMain.class.getName(),
                dir.toString())
            .redirectErrorStream(true)
            .start();
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("held ")) {
        // logging before the line
      }
      assertThat(line).isEqualTo("held 1");

      assertThatThrownBy(() -> take(ME))
          .isInstanceOf(LeaseHeldException.class)
          .hasMessageContaining("coordinator pid " + holder.pid());

      holder.destroyForcibly().waitFor(20, TimeUnit.SECONDS); // kill -9: no clean release
      assertThat(record().released()).isNull();
      try (StateDirLease lease = take(ME)) {
        assertThat(lease.token()).isEqualTo(2);
        assertThat(record().pid()).isEqualTo(101);
      }
    } finally {
      holder.destroyForcibly();
    }
  }
}
