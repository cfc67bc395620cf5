package dev.lorafleet.common.protocol;

import java.util.List;

/**
 * Coordinator → worker: prepare for a job (fetch missing datasets, load the base model, tokenize).
 * The worker answers {@link JobPrepared} or {@link JobPrepareFailed}.
 *
 * @param jobId the job
 * @param specYaml the job spec exactly as accepted (the worker parses it with the same parser)
 * @param modelPath the base model directory, resolved by the coordinator (the spec may hold a path
 *     relative to its own file); it must exist at this path on every worker node
 * @param trainDatasets the training datasets in spec order; example indices count across them in
 *     this order
 * @param evalDatasets the eval sets in spec order
 */
public record JobAssignment(
    String jobId,
    String specYaml,
    String modelPath,
    List<DatasetRef> trainDatasets,
    List<DatasetRef> evalDatasets)
    implements ControlMessage {
  public JobAssignment {
    trainDatasets = List.copyOf(trainDatasets);
    evalDatasets = List.copyOf(evalDatasets);
  }
}
