package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.spec.JobSpecParser;
import dev.lorafleet.coordinator.api.JobService;
import dev.lorafleet.coordinator.api.JobServiceException;
import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.api.ScaleView;
import dev.lorafleet.coordinator.k8s.JobDemand;
import dev.lorafleet.coordinator.k8s.PoolAutoscaler;
import dev.lorafleet.coordinator.k8s.ScaleResult;
import dev.lorafleet.coordinator.k8s.ScalerFailure;
import dev.lorafleet.coordinator.k8s.ScalingPolicy;
import dev.lorafleet.coordinator.k8s.WorkerScaler;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds the Kubernetes scaler to the coordinator: {@code POST /api/v1/workers/scale} and a periodic
 * reconcile that holds as many worker pods as queued and running jobs need. Kubernetes calls block,
 * so both run on one thread of their own, never on an actor dispatcher.
 */
final class WorkerPoolScaling implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerPoolScaling.class);
  private static final long RECONCILE_SECONDS = 30;

  private final WorkerScaler scaler;
  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "lorafleet-k8s-scaler");
            t.setDaemon(true);
            return t;
          });

  WorkerPoolScaling(WorkerScaler scaler) {
    this.scaler = scaler;
  }

  /** What the API's scale call runs. */
  IntFunction<CompletionStage<ScaleView>> manual() {
    return replicas ->
        CompletableFuture.supplyAsync(
            () -> {
              ScaleResult result = scaler.scale(replicas);
              if (result instanceof ScalerFailure failure) {
                throw new JobServiceException(
                    JobServiceException.Kind.UNAVAILABLE, "replicas", failure.message());
              }
              return new ScaleView(replicas, scaler.status().readyReplicas());
            },
            thread);
  }

  /** Starts reconciling every 30 s against the coordinator's jobs and their specs on disk. */
  void startAutoscaling(JobService jobs, Path dataDir) {
    PoolAutoscaler autoscaler =
        new PoolAutoscaler(
            scaler, ScalingPolicy.DEFAULT, () -> demand(jobs, dataDir), Clock.systemUTC());
    thread.scheduleWithFixedDelay(
        () -> {
          try {
            autoscaler.reconcile();
          } catch (RuntimeException e) {
            LOG.warn(
                "Worker pool reconcile failed; trying again in {} s: {}",
                RECONCILE_SECONDS,
                e.getMessage());
          }
        },
        5,
        RECONCILE_SECONDS,
        TimeUnit.SECONDS);
  }

  private static List<JobDemand> demand(JobService jobs, Path dataDir) {
    Supplier<List<JobView>> list =
        () -> jobs.list().toCompletableFuture().orTimeout(20, TimeUnit.SECONDS).join();
    List<JobDemand> demand = new ArrayList<>();
    for (JobView job : list.get()) {
      Path spec = dataDir.resolve("jobs").resolve(job.id()).resolve("spec.yaml");
      int workers;
      try {
        workers = new JobSpecParser().parse(spec).cluster().workers();
      } catch (Exception e) {
        LOG.warn(
            "Job {}: cannot read {} for its worker count; counting 1: {}",
            job.id(),
            spec,
            e.getMessage());
        workers = 1;
      }
      demand.add(
          new JobDemand(
              job.id(), job.name(), JobDemand.Phase.ofState(job.state().name()), workers));
    }
    return demand;
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
