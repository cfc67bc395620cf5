package dev.lorafleet.worker.cluster;

/**
 * One job's training on this worker, as the worker actor sees it: the base model loaded on every
 * device and the job's datasets tokenized. Blocking; called on the worker's compute executor only.
 */
public interface JobCompute extends AutoCloseable {
  /** A share's gradient: the SUM over its tokens (not the mean), in the adapter layout. */
  record Gradients(float[] sum, long tokens, double lossSum, int examples) {}

  /** Summed loss of an eval share. */
  record EvalLoss(double lossSum, long tokens, int examples) {}

  /** Usable examples per training dataset (spec order). */
  int[] trainExampleCounts();

  /** Usable examples per eval set (spec order). */
  int[] evalExampleCounts();

  int adapterLength();

  /** The model's {@code config.json} text. */
  String modelConfigJson();

  /** The freshly initialised adapter for {@code seed} (A Kaiming-uniform, B zero). */
  float[] initialAdapter(long seed);

  /**
   * Gradient sum of the given global training examples under {@code adapter}.
   *
   * @param stepSeed seeds this step's dropout masks
   */
  Gradients gradients(float[] adapter, int[] exampleIndices, long stepSeed) throws Exception;

  /** Summed loss of examples of one eval set under {@code adapter}. */
  EvalLoss evaluate(float[] adapter, int evalIndex, int[] exampleIndices) throws Exception;

  /** Frees the model and datasets. */
  @Override
  void close();
}
