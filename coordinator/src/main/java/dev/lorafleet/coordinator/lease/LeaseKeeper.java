package dev.lorafleet.coordinator.lease;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds a coordinator's leases from start to exit: renews each on its own daemon thread, answers
 * the {@link Fence} check before every write, and tells its listeners once, the moment a lease is
 * lost, so that the coordinator stops (it writes nothing more: every later check fails).
 *
 * <p>The fencing token is the state directory's ({@link StateDirLease}): the one that the files
 * written sit beside. On Kubernetes the Lease object is taken first and the state directory's lock
 * second, so that the token only grows under the Lease.
 */
public final class LeaseKeeper implements Fence, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

  private final List<CoordinatorLease> leases;
  private final long token;
  private final ScheduledExecutorService renewer;
  private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
  private volatile String lost;
  private volatile boolean closed;

  /**
   * Starts renewing {@code leases} (in the order they were taken; released in reverse).
   *
   * @param token the fencing token the writes are checked against
   */
  public LeaseKeeper(long token, List<CoordinatorLease> leases) {
    this.token = token;
    this.leases = List.copyOf(leases);
    this.renewer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lorafleet-lease");
              t.setDaemon(true);
              return t;
            });
    for (CoordinatorLease lease : this.leases) {
      long every = Math.max(1, lease.renewInterval().toMillis());
      renewer.scheduleWithFixedDelay(() -> renew(lease), every, every, TimeUnit.MILLISECONDS);
    }
  }

  /** A keeper of the state directory's lease alone (no Kubernetes). */
  public static LeaseKeeper of(StateDirLease lease) {
    return new LeaseKeeper(lease.token(), List.of(lease));
  }

  @Override
  public long token() {
    return token;
  }

  /** Why the lease was lost, once it was. */
  public Optional<String> lost() {
    return Optional.ofNullable(lost);
  }

  /** What is held, for the log: each lease in words. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    leases.forEach(l -> parts.add(l.describe()));
    return String.join(" and ", parts);
  }

  /**
   * Calls {@code listener} once with the reason when a lease is lost (at once if it already was).
   * Listeners run on the thread that noticed: they must not block.
   */
  public void onLost(Consumer<String> listener) {
    listeners.add(listener);
    String reason = lost;
    if (reason != null && listeners.remove(listener)) {
      listener.accept(reason);
    }
  }

  @Override
  public void check() throws FencedOutException {
    String reason = lost;
    if (reason != null) {
      throw fencedOut(reason);
    }
    for (CoordinatorLease lease : leases) {
      try {
        lease.verify();
      } catch (LeaseLostException e) {
        markLost(e.getMessage());
        throw fencedOut(e.getMessage());
      } catch (IOException e) {
        throw new FencedOutException(
            "cannot confirm that this coordinator still holds "
                + lease.describe()
                + " ("
                + e.getMessage()
                + "), so it does not write",
            e);
      }
    }
  }

  private FencedOutException fencedOut(String reason) {
    return new FencedOutException(
        "this coordinator lost its lease and may no longer write (fencing token "
            + token
            + "): "
            + reason);
  }

  private void renew(CoordinatorLease lease) {
    if (closed || lost != null) {
      return;
    }
    try {
      lease.renew();
    } catch (LeaseLostException e) {
      markLost(e.getMessage());
    } catch (IOException | RuntimeException e) {
      log.debug("Renewing {} failed this time: {}", lease.describe(), e.toString());
    }
  }

  private void markLost(String reason) {
    synchronized (this) {
      if (lost != null || closed) {
        return;
      }
      lost = reason;
    }
    for (Consumer<String> listener : listeners) {
      if (listeners.remove(listener)) {
        try {
          listener.accept(reason);
        } catch (RuntimeException e) {
          log.warn("A lease-loss listener failed: {}", e.toString());
        }
      }
    }
  }

  /** Stops renewing and lets go of every lease still held (the last, first). */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    renewer.shutdownNow();
    for (int i = leases.size() - 1; i >= 0; i--) {
      leases.get(i).close();
    }
  }
}
