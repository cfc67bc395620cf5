package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.transport.CoordinatorDataPlane;
import dev.lorafleet.common.transport.DataPlaneConfig;
import dev.lorafleet.common.transport.GatherResult;
import dev.lorafleet.common.wire.WireDtype;
import dev.lorafleet.coordinator.job.optim.AdamW;
import dev.lorafleet.coordinator.job.optim.GradientStep;
import dev.lorafleet.coordinator.job.optim.LrSchedule;
import dev.lorafleet.worker.transport.WorkerDataPlane;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The coordinator's time per step outside the workers' compute: gather and reduce the workers'
 * gradient sums over the real data plane (UDP loopback, one media driver per party as separate
 * processes would have), the AdamW step, and the broadcast until every worker holds the new
 * parameters. Workers here send precomputed gradients, so every measured second is overhead. The
 * figure is set against one pass of AdamW's memory traffic (read p, g, m, v; write p, m, v) at this
 * machine's measured bandwidth.
 */
@Command(
    name = "step-overhead",
    mixinStandardHelpOptions = true,
    description =
        "Coordinator time per step outside the workers' compute (reduce + AdamW + broadcast).")
final class StepOverheadBench implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--params",
      split = ",",
      defaultValue = "4000000,40000000",
      description = "Adapter sizes in parameters (default ${DEFAULT-VALUE}).")
  int[] sizes;

  @Option(
      names = "--workers",
      split = ",",
      defaultValue = "1,2,4",
      description = "Worker counts (default ${DEFAULT-VALUE}).")
  int[] workerCounts;

  @Option(names = "--steps", defaultValue = "5", description = "Measured steps per case.")
  int steps;

  @Option(names = "--warmup", defaultValue = "2", description = "Unmeasured steps per case.")
  int warmup;

  private record Row(int params, int workers, double reduce, double adam, double broadcast) {
    double total() {
      return reduce + adam + broadcast;
    }
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    double bandwidth = measureBandwidth();
    out.printf(Locale.ROOT, "memory bandwidth (triad, 1 thread): %.2f GB/s%n", bandwidth / 1e9);
    out.printf(
        Locale.ROOT,
        "%12s %8s %11s %11s %11s %11s %13s %9s%n",
        "params",
        "workers",
        "reduce ms",
        "adamw ms",
        "bcast ms",
        "total ms",
        "adamw-pass ms",
        "ratio");
    out.flush();
    List<Row> rows = new ArrayList<>();
    for (int size : sizes) {
      for (int workers : workerCounts) {
        Row row = measure(size, workers);
        rows.add(row);
        double pass = adamPassSeconds(size, bandwidth);
        out.printf(
            Locale.ROOT,
            "%12d %8d %11.1f %11.1f %11.1f %11.1f %13.1f %9.1f%n",
            size,
            workers,
            row.reduce() * 1e3,
            row.adam() * 1e3,
            row.broadcast() * 1e3,
            row.total() * 1e3,
            pass * 1e3,
            row.total() / pass);
        out.flush();
      }
    }
    StringBuilder ratios = new StringBuilder("ratios (step overhead / one AdamW memory pass):");
    for (Row row : rows) {
      ratios.append(
          String.format(
              Locale.ROOT,
              " %dM×%dw=%.1f",
              row.params() / 1_000_000,
              row.workers(),
              row.total() / adamPassSeconds(row.params(), bandwidth)));
    }
    out.println(ratios);
    out.flush();
    return 0;
  }

  /** Bytes AdamW must move once: read p, g, m, v and write p, m, v, 4 bytes each. */
  static double adamPassSeconds(int params, double bytesPerSecond) {
    return 7.0 * 4.0 * params / bytesPerSecond;
  }

  /** A STREAM-style triad (a = b + s·c) over arrays far larger than the caches, best of 5. */
  static double measureBandwidth() {
    int n = 32 * 1024 * 1024;
    float[] a = new float[n];
    float[] b = new float[n];
    float[] c = new float[n];
    Arrays.fill(b, 1f);
    Arrays.fill(c, 2f);
    double best = Double.MAX_VALUE;
    for (int round = 0; round < 5; round++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        a[i] = b[i] + 0.5f * c[i];
      }
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    if (a[n / 2] != 2f) {
      throw new IllegalStateException("triad computed " + a[n / 2]);
    }
    return 3.0 * 4.0 * n / best;
  }

  private Row measure(int size, int workers) throws Exception {
    String job = "bench";
    // a fresh driver directory per case: no state of an earlier case's drivers is reused
    java.nio.file.Path drivers =
        java.nio.file.Files.createTempDirectory(
            DataPlaneConfig.defaultDriverDirectoryParent(), "lorafleet-bench-");
    DataPlaneConfig config =
        DataPlaneConfig.defaults()
            .withPorts(0, 0)
            .withDriverDirectoryParent(drivers)
            .withSendTimeout(Duration.ofSeconds(600));
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try (CoordinatorDataPlane coordinator = CoordinatorDataPlane.open(config)) {
      List<WorkerDataPlane> planes = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      List<float[]> grads = new ArrayList<>();
      SplittableRandom random = new SplittableRandom(7);
      for (int w = 0; w < workers; w++) {
        String id = "w" + w;
        ids.add(id);
        planes.add(WorkerDataPlane.connect(coordinator.endpoints(), id, config));
        float[] g = new float[size];
        for (int i = 0; i < size; i++) {
          g[i] = (float) (random.nextDouble() - 0.5);
        }
        grads.add(g);
      }
      // every worker hears the first broadcast: one that connects after it asks for a re-send,
      // which the others (done with that version, no longer reading) would hold back
      long connectDeadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!planes.stream().allMatch(WorkerDataPlane::isConnected)) {
        if (System.nanoTime() - connectDeadline > 0) {
          throw new IllegalStateException("the bench workers did not connect within 30 s");
        }
        Thread.sleep(1);
      }
      float[] params = new float[size];
      GradientStep optimizer =
          new GradientStep(
              new AdamW(params, 0.01),
              new LrSchedule(LrSchedule.Kind.CONSTANT, 1e-4, 0, 1_000_000),
              1.0);
      double reduce = 0;
      double adam = 0;
      double broadcast = 0;
      try {
        // workers read while the broadcast is sent: Aeron's flow control holds it to their pace
        CompletableFuture<Void> first = coordinator.broadcast(job, 0, params);
        awaitAll(pool, planes, job, 0);
        first.get(600, TimeUnit.SECONDS);
        for (int step = 0; step < warmup + steps; step++) {
          long t0 = System.nanoTime();
          CompletableFuture<GatherResult> gather =
              coordinator.gather(job, step, ids, size, Duration.ofSeconds(600));
          long s = step;
          List<CompletableFuture<Void>> sends = new ArrayList<>();
          for (int w = 0; w < workers; w++) {
            WorkerDataPlane plane = planes.get(w);
            float[] g = grads.get(w);
            sends.add(
                CompletableFuture.runAsync(
                    () -> plane.sendGradient(job, s, g, 1000, 1.0, WireDtype.FP32), pool));
          }
          GatherResult result = gather.get(660, TimeUnit.SECONDS);
          if (!(result instanceof GatherResult.Complete complete)) {
            throw new IllegalStateException("gather did not complete: " + result);
          }
          CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).join();
          long t1 = System.nanoTime();
          optimizer.apply(complete.gradient().sum(), complete.gradient().tokenCount(), step);
          coordinator.recycle(job, complete.gradient().sum()); // as the job runner does
          long t2 = System.nanoTime();
          CompletableFuture<Void> sent =
              coordinator.broadcast(job, step + 1, optimizer.optimizer().params());
          awaitAll(pool, planes, job, step + 1);
          sent.get(600, TimeUnit.SECONDS);
          long t3 = System.nanoTime();
          if (step >= warmup) {
            reduce += (t1 - t0) / 1e9;
            adam += (t2 - t1) / 1e9;
            broadcast += (t3 - t2) / 1e9;
          }
        }
      } finally {
        planes.forEach(WorkerDataPlane::close);
      }
      return new Row(size, workers, reduce / steps, adam / steps, broadcast / steps);
    } finally {
      pool.shutdownNow();
      try (var leftovers = java.nio.file.Files.walk(drivers)) {
        leftovers.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void awaitAll(
      ExecutorService pool, List<WorkerDataPlane> planes, String job, long step) {
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    for (WorkerDataPlane plane : planes) {
      waits.add(
          CompletableFuture.runAsync(
              () -> plane.awaitParameters(job, step, Duration.ofSeconds(600)), pool));
    }
    CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).join();
  }
}
