package dev.lorafleet.coordinator.cli;

import dev.lorafleet.worker.cluster.JobComputeFactory;

/** A worker's job compute over the training core (the trainer and the dataset tokenizer). */
final class TrainerCompute {
  private TrainerCompute() {}

  static JobComputeFactory factory() {
    return (spec, train, eval, devices) -> {
      throw new IllegalStateException(
          "this build has no training core yet (ShardTrainer, issue #2); the worker cannot train");
    };
  }
}
