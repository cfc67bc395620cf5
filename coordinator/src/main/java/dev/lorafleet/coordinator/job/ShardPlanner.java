package dev.lorafleet.coordinator.job;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Which examples each step trains on and which worker trains which of them: a pure function of the
 * dataset sizes, the spec's weights, the batch size and the seed, so a resumed job (or another
 * coordinator) replays the same order.
 *
 * <p>How weights mix: an epoch has as many samples as all training datasets together ({@code E = Σ
 * n_i}), so with one dataset, or weights proportional to sizes, every example is trained exactly
 * once per epoch. Dataset {@code i} contributes {@code c_i = E · w_i / Σw} samples, rounded by
 * largest remainder so the counts add up to {@code E} (ties to the earlier dataset). It draws them
 * from its own seeded stream of permutations: cycle {@code k} is a fresh shuffle of the dataset,
 * and epoch {@code e} takes stream positions {@code [e·c_i, (e+1)·c_i)}. An under-weighted dataset
 * thus shows different examples each epoch and never repeats one before all were seen; an
 * over-weighted one repeats whole passes. The epoch's samples are then shuffled together (seed,
 * epoch) and cut into global batches of {@code globalBatchSize}; the last batch may be smaller (as
 * with a PyTorch DataLoader without {@code drop_last}).
 *
 * <p>Example indices are global: dataset {@code i}'s example {@code j} is {@code offset_i + j} with
 * datasets in spec order.
 */
public final class ShardPlanner {
  /** A live worker and how many devices it trains on. */
  public record WorkerSlot(String workerId, int devices) {}

  /** The examples one worker trains in one step. */
  public record Share(String workerId, int[] exampleIndices) {}

  private final int[] sizes;
  private final int[] offsets;
  private final int[] counts;
  private final int epochSize;
  private final int globalBatchSize;
  private final long seed;

  public ShardPlanner(int[] datasetSizes, double[] weights, int globalBatchSize, long seed) {
    if (datasetSizes.length == 0 || datasetSizes.length != weights.length) {
      throw new IllegalArgumentException(
          "need one weight per dataset: "
              + datasetSizes.length
              + " datasets, "
              + weights.length
              + " weights");
    }
    if (globalBatchSize < 1) {
      throw new IllegalArgumentException("globalBatchSize must be >= 1, was " + globalBatchSize);
    }
    this.sizes = datasetSizes.clone();
    this.offsets = new int[sizes.length];
    long total = 0;
    for (int i = 0; i < sizes.length; i++) {
      if (sizes[i] < 1) {
        throw new IllegalArgumentException(
            "training dataset " + i + " has no usable examples; remove it or fix its records");
      }
      if (!(weights[i] > 0) || !Double.isFinite(weights[i])) {
        throw new IllegalArgumentException(
            "datasets[" + i + "].weight must be a positive number, was " + weights[i]);
      }
      offsets[i] = (int) total;
      total += sizes[i];
    }
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("more than 2^31 training examples: " + total);
    }
    this.epochSize = (int) total;
    this.counts = largestRemainder(epochSize, weights);
    this.globalBatchSize = globalBatchSize;
    this.seed = seed;
  }

  /** Samples per epoch (the sum of the training datasets' sizes). */
  public int epochSize() {
    return epochSize;
  }

  /** How many samples of each dataset an epoch draws. */
  public int[] samplesPerDataset() {
    return counts.clone();
  }

  public int stepsPerEpoch() {
    return (epochSize + globalBatchSize - 1) / globalBatchSize;
  }

  public int globalBatchSize() {
    return globalBatchSize;
  }

  /** The epoch's samples in training order (global example indices). */
  public int[] epochOrder(int epoch) {
    int[] order = new int[epochSize];
    int at = 0;
    for (int d = 0; d < sizes.length; d++) {
      int n = sizes[d];
      long first = (long) epoch * counts[d];
      long cycle = -1;
      int[] permutation = null;
      for (long position = first; position < first + counts[d]; position++) {
        if (position / n != cycle) {
          cycle = position / n;
          permutation = cyclePermutation(d, cycle);
        }
        order[at++] = offsets[d] + permutation[(int) (position % n)];
      }
    }
    new SplitMix64(SplitMix64.mix(seed, 0xE90C, epoch)).shuffle(order);
    return order;
  }

  /** The global batch of step {@code stepInEpoch} of {@code epoch}. */
  public int[] stepBatch(int epoch, int stepInEpoch) {
    return stepBatch(epochOrder(epoch), stepInEpoch);
  }

  /** The global batch of step {@code stepInEpoch} from an already computed epoch order. */
  public int[] stepBatch(int[] epochOrder, int stepInEpoch) {
    if (stepInEpoch < 0 || stepInEpoch >= stepsPerEpoch()) {
      throw new IllegalArgumentException(
          "step " + stepInEpoch + " is outside the epoch's " + stepsPerEpoch() + " steps");
    }
    int from = stepInEpoch * globalBatchSize;
    return Arrays.copyOfRange(
        epochOrder, from, Math.min(epochOrder.length, from + globalBatchSize));
  }

  private int[] cyclePermutation(int dataset, long cycle) {
    int[] permutation = new int[sizes[dataset]];
    for (int i = 0; i < permutation.length; i++) {
      permutation[i] = i;
    }
    new SplitMix64(SplitMix64.mix(seed, 0xDA7A, dataset, cycle)).shuffle(permutation);
    return permutation;
  }

  /**
   * Splits a batch over workers in proportion to their devices (largest remainder, ties to the
   * worker first in id order), as contiguous slices in worker-id order. Workers with an empty share
   * are left out.
   */
  public static List<Share> split(int[] batch, List<WorkerSlot> workers) {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("no live worker to split " + batch.length + " samples");
    }
    List<WorkerSlot> ordered = new ArrayList<>(workers);
    ordered.sort(Comparator.comparing(WorkerSlot::workerId));
    double[] devices = new double[ordered.size()];
    for (int i = 0; i < devices.length; i++) {
      devices[i] = ordered.get(i).devices();
    }
    int[] sizes = largestRemainder(batch.length, devices);
    List<Share> shares = new ArrayList<>();
    int from = 0;
    for (int i = 0; i < sizes.length; i++) {
      if (sizes[i] > 0) {
        shares.add(
            new Share(ordered.get(i).workerId(), Arrays.copyOfRange(batch, from, from + sizes[i])));
      }
      from += sizes[i];
    }
    return shares;
  }

  /** Splits {@code total} in proportion to {@code weights}; the parts add up to total exactly. */
  static int[] largestRemainder(int total, double[] weights) {
    double sum = 0;
    for (double w : weights) {
      sum += w;
    }
    int[] parts = new int[weights.length];
    double[] remainders = new double[weights.length];
    int assigned = 0;
    for (int i = 0; i < weights.length; i++) {
      double exact = total * weights[i] / sum;
      parts[i] = (int) Math.floor(exact);
      remainders[i] = exact - parts[i];
      assigned += parts[i];
    }
    Integer[] byRemainder = new Integer[weights.length];
    for (int i = 0; i < byRemainder.length; i++) {
      byRemainder[i] = i;
    }
    Arrays.sort(byRemainder, (a, b) -> Double.compare(remainders[b], remainders[a]));
    for (int k = 0; assigned < total; k++, assigned++) {
      parts[byRemainder[k % byRemainder.length]]++;
    }
    return parts;
  }
}
