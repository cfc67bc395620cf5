package dev.lorafleet.coordinator.lease;

import java.nio.file.Path;

/**
 * A process that takes the state-directory lease of {@code args[0]}, prints {@code held <token>}
 * and holds it until killed: the other coordinator in the lease tests.
 */
public final class TestingLeaseHolderMain {
  private TestingLeaseHolderMain() {}

  public static void main(String[] args) throws Exception {
    StateDirLease lease = StateDirLease.acquire(Path.of(args[0]));
    System.out.println("held " + lease.token());
    System.out.flush();
    Thread.currentThread().join(); // until killed
  }
}
