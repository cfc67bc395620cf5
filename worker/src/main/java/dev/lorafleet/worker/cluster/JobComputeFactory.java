package dev.lorafleet.worker.cluster;

import java.nio.file.Path;
import java.util.List;

/** Opens a job's compute on this worker (loads the model, tokenizes the cached datasets). */
@FunctionalInterface
public interface JobComputeFactory {
  /**
   * @param specYaml the job spec as accepted by the coordinator
   * @param modelDir the base model directory on this node
   * @param trainFiles local copies of the training datasets, in spec order
   * @param evalFiles local copies of the eval sets, in spec order
   * @param deviceCount devices this worker trains on
   * @throws Exception with a message naming node and path when the model or a dataset is unusable
   */
  JobCompute open(
      String specYaml, Path modelDir, List<Path> trainFiles, List<Path> evalFiles, int deviceCount)
      throws Exception;
}
