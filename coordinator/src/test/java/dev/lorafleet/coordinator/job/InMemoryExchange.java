package dev.lorafleet.coordinator.job;

import dev.lorafleet.worker.cluster.WorkerExchange;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Both ends of the data plane in one JVM, for actor tests: sums in worker-id order like the real
 * one, and fails a gather past its deadline naming the workers that sent nothing.
 */
final class InMemoryExchange implements GradientExchange, WorkerExchange.Factory {
  private record Pending(
      String jobId,
      long step,
      int round,
      Set<String> expected,
      int length,
      TreeMap<String, float[]> received,
      long[] tokens,
      double[] loss,
      CompletableFuture<Gathered> future) {}

  private final Map<String, Pending> gathers = new HashMap<>();
  private final Map<String, TreeMap<Long, float[]>> parameters = new HashMap<>();
  final List<String> sendLog = new ArrayList<>();

  /**
   * Gathers of this step or later never complete (a coordinator that dies mid-step), so a test can
   * stop the coordinator at a known step however fast the machine is.
   */
  volatile long holdFromStep = Long.MAX_VALUE;

  @Override
  public String endpoints() {
    return "in-memory";
  }

  @Override
  public synchronized CompletableFuture<Gathered> gather(
      String jobId,
      long step,
      int round,
      Collection<String> workerIds,
      int length,
      Duration deadline) {
    Pending previous = gathers.get(jobId);
    if (previous != null) {
      previous.future().complete(new Gathered.Incomplete(previous.expected(), Set.of()));
    }
    CompletableFuture<Gathered> future = new CompletableFuture<>();
    Pending pending =
        new Pending(
            jobId,
            step,
            round,
            Set.copyOf(workerIds),
            length,
            new TreeMap<>(),
            new long[1],
            new double[1],
            future);
    gathers.put(jobId, pending);
    if (step >= holdFromStep) {
      return future;
    }
    CompletableFuture.delayedExecutor(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .execute(() -> timeOut(pending));
    return future;
  }

  private synchronized void timeOut(Pending pending) {
    if (pending.future().isDone()) {
      return;
    }
    java.util.HashSet<String> silent = new java.util.HashSet<>(pending.expected());
    silent.removeAll(pending.received().keySet());
    pending.future().complete(new Gathered.Incomplete(Set.copyOf(silent), Set.copyOf(silent)));
  }

  synchronized void receive(
      String workerId,
      String jobId,
      long step,
      int round,
      float[] sum,
      long tokens,
      double lossSum) {
    sendLog.add(workerId + "@" + step + "/" + round);
    Pending p = gathers.get(jobId);
    if (p == null
        || p.step() != step
        || p.round() != round
        || !p.expected().contains(workerId)
        || p.received().containsKey(workerId)) {
      return; // stale or unexpected: dropped like the real data plane does
    }
    if (step >= holdFromStep) {
      return; // the step is held: its gather never completes
    }
    p.received().put(workerId, sum.clone());
    p.tokens()[0] += tokens;
    p.loss()[0] += lossSum;
    if (p.received().size() == p.expected().size()) {
      float[] total = new float[p.length()];
      for (float[] v : p.received().values()) {
        for (int i = 0; i < total.length; i++) {
          total[i] += v[i];
        }
      }
      p.future().complete(new Gathered.Complete(total, p.tokens()[0], p.loss()[0]));
    }
  }

  @Override
  public synchronized CompletableFuture<Void> broadcast(String jobId, long step, float[] params) {
    parameters.computeIfAbsent(jobId, k -> new TreeMap<>()).put(step, params.clone());
    notifyAll();
    return CompletableFuture.completedFuture(null);
  }

  synchronized float[] await(String jobId, long step, Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      TreeMap<Long, float[]> versions = parameters.get(jobId);
      if (versions != null && versions.ceilingEntry(step) != null) {
        return versions.ceilingEntry(step).getValue().clone();
      }
      long left = end - System.nanoTime();
      if (left <= 0) {
        throw new IllegalStateException("no parameters for step " + step + " of " + jobId);
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  @Override
  public void endJob(String jobId) {}

  @Override
  public WorkerExchange connect(String coordinatorEndpoints, String workerId) {
    InMemoryExchange self = this;
    return new WorkerExchange() {
      @Override
      public float[] awaitParameters(String jobId, long step, Duration timeout) {
        return self.await(jobId, step, timeout);
      }

      @Override
      public void sendGradient(
          String jobId, long step, int round, float[] sum, long tokens, double lossSum) {
        self.receive(workerId, jobId, step, round, sum, tokens, lossSum);
      }

      @Override
      public void close() {}
    };
  }
}
