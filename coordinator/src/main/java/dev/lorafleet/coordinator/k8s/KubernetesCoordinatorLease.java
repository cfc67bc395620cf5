package dev.lorafleet.coordinator.k8s;

import dev.lorafleet.coordinator.lease.CoordinatorLease;
import dev.lorafleet.coordinator.lease.LeaseHeldException;
import dev.lorafleet.coordinator.lease.LeaseLostException;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's coordination.k8s.io/v1 Lease: taken at start (created if missing, taken over
 * once it has run out, see {@link LeaseRules}), renewed every {@code retryPeriod}, let go at exit.
 * Every write is a PUT carrying the resourceVersion read, so a concurrent change answers 409 and is
 * read again; a renewal that conflicts with another holder, a deleted Lease, or no successful
 * renewal for {@code renewDeadline} (shorter than the Lease's duration, so this coordinator has
 * stopped before anyone may take over) is the loss of the lease.
 *
 * <p>Only {@code get} and {@code update} on the one Lease are used in a cluster set up by the Helm
 * chart (which creates the Lease); {@code create} only when it is missing. Blocking; no Pekko.
 */
public final class KubernetesCoordinatorLease implements CoordinatorLease {
  private static final Logger log = LoggerFactory.getLogger(KubernetesCoordinatorLease.class);

  private final CoordinationV1Api api;
  private final String apiServer;
  private final KubernetesLeaseSettings settings;
  private final Clock clock;
  private volatile V1Lease held;
  private volatile Instant renewedAt;
  private volatile boolean released;

  private KubernetesCoordinatorLease(
      ApiClient client, KubernetesLeaseSettings settings, Clock clock, V1Lease held, Instant at) {
    this.api = new CoordinationV1Api(client);
    this.apiServer = client.getBasePath();
    this.settings = settings;
    this.clock = clock;
    this.held = held;
    this.renewedAt = at;
  }

  /**
   * The Lease the environment names ({@link KubernetesLeaseSettings#detect}), taken; empty when no
   * Lease is configured.
   *
   * @throws LeaseHeldException when another coordinator holds it after {@code wait}
   * @throws IllegalStateException when the API refuses (the message says what to fix)
   */
  public static Optional<KubernetesCoordinatorLease> fromEnvironment(
      Map<String, String> env, Duration wait) throws InterruptedException {
    Optional<KubernetesLeaseSettings.On> on =
        KubernetesLeaseSettings.detect(env, KubernetesCoordinatorLease::read);
    if (on.isEmpty()) {
      return Optional.empty();
    }
    KubernetesLeaseSettings settings = on.get().settings();
    ApiClient client;
    try {
      client =
          KubernetesWorkerScaler.builder(on.get().kubeconfig())
              .setReadTimeout(settings.requestTimeout())
              .build();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot set up the Kubernetes client for the coordinator's Lease: " + e.getMessage(), e);
    }
    client.setConnectTimeout((int) settings.requestTimeout().toMillis());
    return Optional.of(acquire(client, settings, wait, Clock.systemUTC(), Sleeper.REAL));
  }

  /**
   * Takes the Lease, waiting up to {@code wait} (at least until it could have run out, if its
   * holder stopped renewing) for its holder to let go.
   *
   * @throws LeaseHeldException naming the holder, when it is still held after {@code wait}
   * @throws IllegalStateException when the API refuses or does not answer
   */
  public static KubernetesCoordinatorLease acquire(
      ApiClient client,
      KubernetesLeaseSettings settings,
      Duration wait,
      Clock clock,
      Sleeper sleeper)
      throws InterruptedException {
    Objects.requireNonNull(settings, "settings");
    CoordinationV1Api api = new CoordinationV1Api(client);
    Instant deadline = clock.instant().plus(wait);
    LeaseRules.Observed seen = null;
    boolean toldWaiting = false;
    int failures = 0;
    while (true) {
      Instant now = clock.instant();
      try {
        V1Lease current;
        try {
          current = api.readNamespacedLease(settings.name(), settings.namespace()).execute();
        } catch (ApiException e) {
          if (e.getCode() != 404) {
            throw e;
          }
          current = null;
        }
        if (current == null) {
          V1Lease created =
              api.createNamespacedLease(settings.namespace(), LeaseRules.fresh(settings, now))
                  .execute();
          log.info(
              "Created and took the Kubernetes Lease {}/{} as {}.",
              settings.namespace(),
              settings.name(),
              settings.identity());
          return new KubernetesCoordinatorLease(client, settings, clock, created, now);
        }
        seen = LeaseRules.observe(seen, current, now);
        LeaseRules.Verdict verdict =
            LeaseRules.judge(current, settings.identity(), seen, now, settings.leaseDuration());
        if (verdict instanceof LeaseRules.Held held) {
          if (!now.isBefore(deadline)) {
            throw new LeaseHeldException(heldMessage(settings, current, wait, held));
          }
          if (!toldWaiting) {
            log.info(
                "The Kubernetes Lease {}/{} is held by {}; waiting up to {} for it to be let go"
                    + " or to run out.",
                settings.namespace(),
                settings.name(),
                LeaseRules.describeHolder(current),
                Durations.format(Duration.between(now, deadline)));
            toldWaiting = true;
          }
          sleeper.sleep(shortest(settings.retryPeriod(), Duration.between(now, deadline)));
          continue;
        }
        V1Lease taken =
            api.replaceNamespacedLease(
                    settings.name(),
                    settings.namespace(),
                    LeaseRules.takeOver(current, settings, now))
                .execute();
        if (verdict instanceof LeaseRules.Expired expired) {
          log.warn(
              "Took over the Kubernetes Lease {}/{} from {}, which stopped renewing it.",
              settings.namespace(),
              settings.name(),
              expired.holder());
        } else {
          log.info(
              "Took the Kubernetes Lease {}/{} as {}.",
              settings.namespace(),
              settings.name(),
              settings.identity());
        }
        return new KubernetesCoordinatorLease(client, settings, clock, taken, now);
      } catch (ApiException e) {
        if (e.getCode() == 409) {
          failures = 0;
          continue; // someone else wrote it between our read and write: read again
        }
        if (!ApiErrors.retryable(e)) {
          throw new IllegalStateException(refusal(settings, client.getBasePath(), e));
        }
        failures++;
        if (failures >= Backoff.DEFAULT.maxAttempts() && !clock.instant().isBefore(deadline)) {
          throw new IllegalStateException(refusal(settings, client.getBasePath(), e));
        }
        sleeper.sleep(Backoff.DEFAULT.delayAfter(failures));
      }
    }
  }

  private static Duration shortest(Duration a, Duration b) {
    Duration d = a.compareTo(b) < 0 ? a : b;
    return d.isNegative() || d.isZero() ? Duration.ofMillis(1) : d;
  }

  private static String heldMessage(
      KubernetesLeaseSettings settings, V1Lease current, Duration wait, LeaseRules.Held held) {
    return "the Kubernetes Lease "
        + settings.namespace()
        + "/"
        + settings.name()
        + " is held by "
        + LeaseRules.describeHolder(current)
        + (wait.isZero() ? "" : ", still after waiting " + Durations.format(wait))
        + ". Two coordinators must never act on the same jobs: stop that one first, or start this"
        + " one with --lease-wait (e.g. --lease-wait 5m) to take over when it lets go or stops"
        + " renewing.";
  }

  /** An API refusal in words: what was refused, where, and what to do. */
  private static String refusal(
      KubernetesLeaseSettings settings, String apiServer, ApiException e) {
    String where =
        "Lease \"" + settings.name() + "\" in namespace \"" + settings.namespace() + "\"";
    return switch (e.getCode()) {
      case 403 ->
          "the coordinator's service account may not use the "
              + where
              + " (HTTP 403 Forbidden). Its Role needs verbs \"get\" and \"update\" on resource"
              + " \"leases\" in API group \"coordination.k8s.io\" for resourceNames [\""
              + settings.name()
              + "\"] (and \"create\" if the Lease does not exist yet); the Helm chart creates the"
              + " Lease and grants them (rbac.create=true, coordinator.lease.kubernetes=true)."
              + Optional.ofNullable(ApiErrors.statusMessage(e))
                  .map(m -> " Kubernetes said: " + m)
                  .orElse("");
      case 0 ->
          "the Kubernetes API at "
              + apiServer
              + " did not answer for the "
              + where
              + ": "
              + e.getMessage()
              + "; the coordinator does not start without its Lease.";
      default ->
          "the Kubernetes API answered HTTP "
              + e.getCode()
              + " for the "
              + where
              + "."
              + Optional.ofNullable(ApiErrors.statusMessage(e))
                  .map(m -> " Kubernetes said: " + m)
                  .orElse("");
    };
  }

  @Override
  public String describe() {
    return "the Kubernetes Lease "
        + settings.namespace()
        + "/"
        + settings.name()
        + " (as "
        + settings.identity()
        + ")";
  }

  @Override
  public Duration renewInterval() {
    return settings.retryPeriod();
  }

  /** The Lease as this coordinator last wrote it. */
  public V1Lease lease() {
    return held;
  }

  @Override
  public void renew() throws LeaseLostException, IOException {
    verify();
    Instant now = clock.instant();
    V1Lease mine = held;
    try {
      held =
          api.replaceNamespacedLease(
                  settings.name(), settings.namespace(), LeaseRules.renewed(mine, now))
              .execute();
      renewedAt = now; // when the request left: the Lease runs at least this long from here
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        throw new LeaseLostException(describe() + " was deleted");
      }
      if (e.getCode() == 409) {
        V1Lease current;
        try {
          current = api.readNamespacedLease(settings.name(), settings.namespace()).execute();
        } catch (ApiException again) {
          throw new IOException(refusal(settings, apiServer, again), again);
        }
        String holder = current.getSpec() == null ? null : current.getSpec().getHolderIdentity();
        if (!settings.identity().equals(holder)) {
          throw new LeaseLostException(
              describe() + " was taken over by " + LeaseRules.describeHolder(current));
        }
        held = current; // still ours (someone changed a label, say): renew on this version
        return;
      }
      throw new IOException(
          "could not renew "
              + describe()
              + " ("
              + refusal(settings, apiServer, e)
              + "); the coordinator stops if it cannot renew it within "
              + Durations.format(settings.renewDeadline().minus(Duration.between(renewedAt, now)))
              + " more",
          e);
    }
  }

  @Override
  public void verify() throws LeaseLostException {
    if (released) {
      throw new LeaseLostException(describe() + " was let go");
    }
    Duration since = Duration.between(renewedAt, clock.instant());
    if (since.compareTo(settings.renewDeadline()) > 0) {
      throw new LeaseLostException(
          describe()
              + " was not renewed for "
              + Durations.format(since)
              + " (the API server did not answer): another coordinator may take it over after "
              + Durations.format(settings.leaseDuration()));
    }
  }

  @Override
  public void close() {
    if (released) {
      return;
    }
    released = true;
    try {
      api.replaceNamespacedLease(
              settings.name(), settings.namespace(), LeaseRules.released(held, clock.instant()))
          .execute();
      log.info("Let go of {}.", describe());
    } catch (ApiException e) {
      // a conflict means another holder has it already; otherwise it runs out by itself
      log.debug("Could not let go of {}: HTTP {}", describe(), e.getCode());
    }
  }

  private static Optional<String> read(Path file) {
    try {
      return Files.isReadable(file)
          ? Optional.of(Files.readString(file, StandardCharsets.UTF_8))
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
