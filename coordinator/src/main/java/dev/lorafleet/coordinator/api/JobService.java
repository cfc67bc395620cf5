package dev.lorafleet.coordinator.api;

import dev.lorafleet.common.spec.JobSpec;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * All the HTTP API needs from the rest of the coordinator; the routes see nothing else. The
 * coordinator implements it with its actors (ask → CompletionStage); tests use a hand-written
 * double. Every method returns at once and completes its stage later; a stage completed
 * exceptionally with {@link JobServiceException} becomes a 4xx/503 with its message, anything else
 * a 500.
 */
public interface JobService {
  /**
   * Queues a job whose spec already passed {@link dev.lorafleet.common.spec.JobSpecParser}. The
   * service runs the file-system checks ({@link dev.lorafleet.common.spec.SpecPreflight}) and
   * answers {@link SubmitResult.Rejected} with their problems, queuing nothing.
   *
   * @param rawSpecText the spec as the user sent it (kept beside the job for reference)
   */
  CompletionStage<SubmitResult> submit(JobSpec spec, String rawSpecText);

  /** Every job the coordinator knows, newest first. */
  CompletionStage<List<JobView>> list();

  /** One job; fails with {@link JobServiceException#notFound(String)} when unknown. */
  CompletionStage<JobView> get(String jobId);

  /**
   * Cancels a job (a final checkpoint is written) and answers its view; a job already finished is
   * answered as it is. Fails with {@link JobServiceException#notFound(String)} when unknown.
   */
  CompletionStage<JobView> cancel(String jobId);

  /** The worker nodes in the cluster. */
  CompletionStage<List<WorkerView>> workers();

  /**
   * Asks for {@code replicas} worker nodes (Kubernetes); fails with {@link
   * JobServiceException.Kind#UNAVAILABLE} where the coordinator cannot scale.
   */
  CompletionStage<ScaleView> scale(int replicas);

  /**
   * Whether the coordinator is ready to take jobs (recovered its jobs, cluster formed): {@code
   * /readyz} answers 503 until it is.
   */
  CompletionStage<Boolean> ready();
}
