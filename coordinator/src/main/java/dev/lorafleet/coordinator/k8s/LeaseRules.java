package dev.lorafleet.coordinator.k8s;

import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * What a coordinator may do with the Lease it read, and the Lease it writes back: pure functions,
 * tested without a server.
 *
 * <p>Expiry is judged on this process's own clock, never by comparing the holder's renewTime with
 * it (clocks of two nodes differ): a Lease held by another is taken over only after this process
 * has seen it unchanged (same resourceVersion) for the Lease's whole duration. Every write carries
 * the resourceVersion read, so two coordinators taking over at once conflict (HTTP 409) and only
 * one wins.
 */
final class LeaseRules {
  private LeaseRules() {}

  /** The resourceVersion last seen and when (on this process's clock) it was first seen. */
  record Observed(String resourceVersion, Instant since) {}

  /** What the Lease read allows. */
  sealed interface Verdict permits Free, Ours, Expired, Held {}

  /** Nobody holds it (never held, or let go). */
  record Free() implements Verdict {}

  /** It names this coordinator already (a restart under the same pod name). */
  record Ours() implements Verdict {}

  /** Held by another that has not renewed it for its whole duration. */
  record Expired(String holder) implements Verdict {}

  /** Held by another; it may be taken over at {@code expiresAt} if not renewed by then. */
  record Held(String holder, Instant expiresAt) implements Verdict {}

  /** Notes a read: the time a resourceVersion was first seen is kept while it stays the same. */
  static Observed observe(Observed previous, V1Lease lease, Instant now) {
    String version = lease.getMetadata() == null ? null : lease.getMetadata().getResourceVersion();
    if (previous != null && version != null && version.equals(previous.resourceVersion())) {
      return previous;
    }
    return new Observed(version, now);
  }

  static Verdict judge(
      V1Lease lease, String me, Observed seen, Instant now, Duration defaultDuration) {
    V1LeaseSpec spec = lease.getSpec();
    String holder = spec == null ? null : spec.getHolderIdentity();
    if (holder == null || holder.isEmpty()) {
      return new Free();
    }
    if (holder.equals(me)) {
      return new Ours();
    }
    Instant expiresAt = seen.since().plus(duration(lease, defaultDuration));
    return now.isBefore(expiresAt) ? new Held(holder, expiresAt) : new Expired(holder);
  }

  static Duration duration(V1Lease lease, Duration fallback) {
    Integer seconds = lease.getSpec() == null ? null : lease.getSpec().getLeaseDurationSeconds();
    return seconds == null || seconds <= 0 ? fallback : Duration.ofSeconds(seconds);
  }

  /** A new Lease held by {@code me}. */
  static V1Lease fresh(KubernetesLeaseSettings settings, Instant now) {
    OffsetDateTime time = time(now);
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(new V1ObjectMeta().name(settings.name()).namespace(settings.namespace()))
        .spec(
            new V1LeaseSpec()
                .holderIdentity(settings.identity())
                .leaseDurationSeconds(seconds(settings.leaseDuration()))
                .acquireTime(time)
                .renewTime(time)
                .leaseTransitions(0));
  }

  /** {@code current} taken by {@code me}: a new holder counts one more transition. */
  static V1Lease takeOver(V1Lease current, KubernetesLeaseSettings settings, Instant now) {
    V1LeaseSpec old = current.getSpec() == null ? new V1LeaseSpec() : current.getSpec();
    boolean newHolder = !settings.identity().equals(old.getHolderIdentity());
    int transitions = old.getLeaseTransitions() == null ? 0 : old.getLeaseTransitions();
    OffsetDateTime time = time(now);
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(copyMeta(current))
        .spec(
            new V1LeaseSpec()
                .holderIdentity(settings.identity())
                .leaseDurationSeconds(seconds(settings.leaseDuration()))
                .acquireTime(
                    newHolder || old.getAcquireTime() == null ? time : old.getAcquireTime())
                .renewTime(time)
                .leaseTransitions(newHolder ? transitions + 1 : transitions));
  }

  /** {@code held} renewed now. */
  static V1Lease renewed(V1Lease held, Instant now) {
    V1LeaseSpec old = held.getSpec();
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(copyMeta(held))
        .spec(
            new V1LeaseSpec()
                .holderIdentity(old.getHolderIdentity())
                .leaseDurationSeconds(old.getLeaseDurationSeconds())
                .acquireTime(old.getAcquireTime())
                .renewTime(time(now))
                .leaseTransitions(old.getLeaseTransitions()));
  }

  /**
   * {@code held} let go: no holder, and a duration of one second so that an older client that
   * ignores an empty holder still waits only briefly (as Kubernetes' own leader election does).
   */
  static V1Lease released(V1Lease held, Instant now) {
    V1LeaseSpec old = held.getSpec();
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(copyMeta(held))
        .spec(
            new V1LeaseSpec()
                .leaseDurationSeconds(1)
                .acquireTime(old.getAcquireTime())
                .renewTime(time(now))
                .leaseTransitions(old.getLeaseTransitions()));
  }

  /** "pod coordinator-7c9 (renewed 2026-…, for 15 s)". */
  static String describeHolder(V1Lease lease) {
    V1LeaseSpec spec = lease.getSpec();
    return "coordinator "
        + (spec == null ? null : spec.getHolderIdentity())
        + " (last renewed "
        + (spec == null || spec.getRenewTime() == null ? "never" : spec.getRenewTime())
        + ", held for "
        + (spec == null ? null : spec.getLeaseDurationSeconds())
        + " s at a time)";
  }

  private static V1ObjectMeta copyMeta(V1Lease lease) {
    V1ObjectMeta meta = lease.getMetadata();
    return new V1ObjectMeta()
        .name(meta.getName())
        .namespace(meta.getNamespace())
        .resourceVersion(meta.getResourceVersion())
        .labels(meta.getLabels())
        .annotations(meta.getAnnotations());
  }

  private static int seconds(Duration duration) {
    return (int) Math.max(1, duration.toSeconds());
  }

  /** MicroTime: the API server keeps microseconds. */
  static OffsetDateTime time(Instant now) {
    return OffsetDateTime.ofInstant(now.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
  }
}
