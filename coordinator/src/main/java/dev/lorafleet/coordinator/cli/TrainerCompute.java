package dev.lorafleet.coordinator.cli;

import dev.lorafleet.worker.cluster.JobComputeFactory;
import dev.lorafleet.worker.cluster.TrainerJobCompute;

/** A worker's job compute over the training core (the trainer and the dataset tokenizer). */
final class TrainerCompute {
  private TrainerCompute() {}

  static JobComputeFactory factory() {
    return (spec, model, train, eval, devices) ->
        TrainerJobCompute.factory(devices > 1 || gpuNode() ? "cuda" : "cpu")
            .open(spec, model, train, eval, devices);
  }

  private static boolean gpuNode() {
    try {
      return ai.djl.util.cuda.CudaUtils.getGpuCount() > 0;
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }
}
