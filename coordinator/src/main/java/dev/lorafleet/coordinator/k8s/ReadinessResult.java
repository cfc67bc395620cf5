package dev.lorafleet.coordinator.k8s;

import java.util.List;
import java.util.stream.Collectors;

/** What became of waiting for worker pods to become ready. */
public sealed interface ReadinessResult
    permits ReadinessResult.AllReady, ReadinessResult.NotReady, ScalerFailure {

  /** A sentence for the log and the API. */
  String message();

  /** Every wanted worker pod is ready. */
  record AllReady(int replicas) implements ReadinessResult {
    @Override
    public String message() {
      return "all " + replicas + " worker pods are ready";
    }
  }

  /**
   * Some wanted pods were still not ready when the bound ran out.
   *
   * @param ready pods that were ready
   * @param wanted pods asked for
   * @param waitedFor the bound, as text
   * @param notReady each pod that was not, with the reason Kubernetes gives
   */
  record NotReady(int ready, int wanted, String waitedFor, List<WorkerPod> notReady)
      implements ReadinessResult {
    public NotReady {
      notReady = List.copyOf(notReady);
    }

    @Override
    public String message() {
      return ready
          + " of "
          + wanted
          + " worker pods ready after "
          + waitedFor
          + "; "
          + notReady.stream()
              .map(p -> p.name() + " is not: " + p.reason())
              .collect(Collectors.joining("; "));
    }
  }
}
