package dev.lorafleet.coordinator.lease;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;

/**
 * {@code <stateDir>/coordinator.lease}: the fencing token and who took it. Written atomically by
 * the coordinator holding {@code coordinator.lock}, read by every other that finds the lock taken
 * (to name the holder) and by the holder itself before each write (to notice a newer token).
 *
 * @param token the fencing token, one more than the previous holder's
 * @param host the holder's host name
 * @param pid the holder's process id
 * @param started when the holder's process started (ISO-8601), to tell a reused pid apart
 * @param acquired when it took the lease (ISO-8601)
 * @param released when it let go cleanly (ISO-8601), null while it holds the lease or if it died
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LeaseRecord(
    long token, String host, long pid, String started, String acquired, String released) {

  /** Who a process is, for the record. */
  public record Holder(String host, long pid, String started) {

    /** This JVM. */
    public static Holder thisProcess() {
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException e) {
        host = System.getenv().getOrDefault("HOSTNAME", "unknown-host");
      }
      ProcessHandle self = ProcessHandle.current();
      return new Holder(
          host, self.pid(), self.info().startInstant().map(Instant::toString).orElse("unknown"));
    }
  }

  static LeaseRecord taken(long token, Holder holder, Instant now) {
    return new LeaseRecord(
        token, holder.host(), holder.pid(), holder.started(), now.toString(), null);
  }

  LeaseRecord releasedAt(Instant now) {
    return new LeaseRecord(token, host, pid, started, acquired, now.toString());
  }

  /** "coordinator pid 4711 on host gpu-a (started 2026-…, lease taken 2026-…, token 3)". */
  public String describeHolder() {
    return "coordinator pid "
        + pid
        + " on host "
        + host
        + " (process started "
        + started
        + ", lease taken "
        + acquired
        + ", fencing token "
        + token
        + ")";
  }
}
