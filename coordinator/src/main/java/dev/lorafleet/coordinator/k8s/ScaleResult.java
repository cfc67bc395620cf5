package dev.lorafleet.coordinator.k8s;

/** What became of a request to scale the worker pool. */
public sealed interface ScaleResult
    permits ScaleResult.Scaled, ScaleResult.Unchanged, ScalerFailure {

  /** A sentence for the log and the API. */
  String message();

  /**
   * The API accepted the new replica count.
   *
   * @param from replicas before
   * @param to replicas now asked for
   * @param attempts requests it took (conflicts and timeouts are retried)
   */
  record Scaled(int from, int to, int attempts) implements ScaleResult {
    @Override
    public String message() {
      return "worker pool scaled from " + from + " to " + to + (to == 1 ? " node" : " nodes");
    }
  }

  /** The pool already had that many replicas. */
  record Unchanged(int replicas) implements ScaleResult {
    @Override
    public String message() {
      return "worker pool already at " + replicas + (replicas == 1 ? " node" : " nodes");
    }
  }
}
