package dev.lorafleet.coordinator.lease;

import java.io.IOException;
import java.time.Duration;

/**
 * A coordinator's exclusive right to act on its state directory, taken at start before any job
 * resumes and held until exit. Implementations: {@link StateDirLease} (an OS file lock in the state
 * directory, with the fencing token beside it) and, on Kubernetes, a coordination.k8s.io Lease
 * ({@code dev.lorafleet.coordinator.k8s.KubernetesCoordinatorLease}). A {@link LeaseKeeper} renews
 * them and turns their loss into a stop.
 */
public interface CoordinatorLease extends AutoCloseable {

  /** What is held, in words for a log line: "the state directory /data (token 3)". */
  String describe();

  /** How often {@link #renew()} must run. */
  Duration renewInterval();

  /**
   * Confirms the lease and extends it where it would otherwise run out. Called every {@link
   * #renewInterval()} on the keeper's thread; may call the network or the file system.
   *
   * @throws LeaseLostException when the lease is certainly gone
   * @throws IOException when this attempt could not tell (a later one may)
   */
  void renew() throws LeaseLostException, IOException;

  /**
   * A cheap check before each write (no network): the lease is still ours as far as this process
   * can tell.
   *
   * @throws LeaseLostException when the lease is certainly gone
   * @throws IOException when it cannot be told now
   */
  void verify() throws LeaseLostException, IOException;

  /** Lets go, so that a successor need not wait for the lease to run out. Never throws. */
  @Override
  void close();
}
