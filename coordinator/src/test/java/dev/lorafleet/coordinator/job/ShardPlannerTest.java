package dev.lorafleet.coordinator.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ShardPlannerTest {

  @Test
  void singleDatasetEpochIsAPermutationOfAllExamples() {
    ShardPlanner planner = new ShardPlanner(new int[] {100}, new double[] {1.0}, 16, 42);
    int[] order = planner.epochOrder(0);
    assertThat(order).hasSize(100);
    assertThat(Arrays.stream(order).sorted().toArray())
        .isEqualTo(IntStream.range(0, 100).toArray());
    assertThat(order).isNotEqualTo(IntStream.range(0, 100).toArray());
    assertThat(planner.epochOrder(1)).isNotEqualTo(order);
    assertThat(planner.stepsPerEpoch()).isEqualTo(7);
    assertThat(planner.stepBatch(0, 6)).hasSize(4);
  }

  @Test
  void isDeterministicForTheSameSeedAndDiffersForAnother() {
    ShardPlanner a = new ShardPlanner(new int[] {50, 30}, new double[] {1, 1}, 8, 7);
    ShardPlanner b = new ShardPlanner(new int[] {50, 30}, new double[] {1, 1}, 8, 7);
    ShardPlanner c = new ShardPlanner(new int[] {50, 30}, new double[] {1, 1}, 8, 8);
    assertThat(a.epochOrder(3)).isEqualTo(b.epochOrder(3));
    assertThat(a.epochOrder(3)).isNotEqualTo(c.epochOrder(3));
  }

  @Test
  void mixesDatasetsByWeightKeepingEpochSizeAndRotatingTheUnderweightedOne() {
    // 90 new + 110 old examples, 9:1 weights: an epoch is 200 samples, 180 new, 20 old
    ShardPlanner planner = new ShardPlanner(new int[] {90, 110}, new double[] {0.9, 0.1}, 32, 1);
    assertThat(planner.samplesPerDataset()).containsExactly(180, 20);
    int[] epoch0 = planner.epochOrder(0);
    assertThat(epoch0).hasSize(200);
    long newCount = Arrays.stream(epoch0).filter(i -> i < 90).count();
    assertThat(newCount).isEqualTo(180);
    // the new dataset is repeated twice, every example exactly twice
    int[] perExample = new int[90];
    Arrays.stream(epoch0).filter(i -> i < 90).forEach(i -> perExample[i]++);
    assertThat(perExample).containsOnly(2);
    // old examples: epochs 0..4 take disjoint slices of one permutation of 110 (5*20 = 100)
    Set<Integer> seenOld = new HashSet<>();
    for (int e = 0; e < 5; e++) {
      Arrays.stream(planner.epochOrder(e)).filter(i -> i >= 90).forEach(seenOld::add);
    }
    assertThat(seenOld).hasSize(100);
  }

  @Test
  void weightsProportionalToSizesTrainEveryExampleOnce() {
    ShardPlanner planner = new ShardPlanner(new int[] {30, 10}, new double[] {3, 1}, 5, 9);
    int[] sorted = Arrays.stream(planner.epochOrder(2)).sorted().toArray();
    assertThat(sorted).isEqualTo(IntStream.range(0, 40).toArray());
  }

  @Test
  void splitsBatchInProportionToDevicesCoveringEverySampleOnce() {
    int[] batch = IntStream.range(100, 164).toArray();
    List<ShardPlanner.Share> shares =
        ShardPlanner.split(
            batch,
            List.of(
                new ShardPlanner.WorkerSlot("w-b", 4),
                new ShardPlanner.WorkerSlot("w-a", 8),
                new ShardPlanner.WorkerSlot("w-c", 4)));
    assertThat(shares)
        .extracting(ShardPlanner.Share::workerId)
        .containsExactly("w-a", "w-b", "w-c");
    assertThat(shares.get(0).exampleIndices()).hasSize(32);
    assertThat(shares.get(1).exampleIndices()).hasSize(16);
    assertThat(shares.get(2).exampleIndices()).hasSize(16);
    int[] joined = shares.stream().flatMapToInt(s -> Arrays.stream(s.exampleIndices())).toArray();
    assertThat(joined).isEqualTo(batch);
  }

  @Test
  void splitOfUnevenBatchGivesRemainderToFirstWorkersAndDropsEmptyShares() {
    List<ShardPlanner.Share> shares =
        ShardPlanner.split(
            new int[] {1, 2, 3},
            List.of(
                new ShardPlanner.WorkerSlot("a", 1),
                new ShardPlanner.WorkerSlot("b", 1),
                new ShardPlanner.WorkerSlot("c", 1),
                new ShardPlanner.WorkerSlot("d", 1)));
    assertThat(shares).extracting(ShardPlanner.Share::workerId).containsExactly("a", "b", "c");
  }

  @Test
  void refusesNonPositiveWeightsAndEmptyDatasets() {
    assertThatThrownBy(() -> new ShardPlanner(new int[] {5}, new double[] {0}, 2, 1))
        .hasMessageContaining("datasets[0].weight");
    assertThatThrownBy(() -> new ShardPlanner(new int[] {0}, new double[] {1}, 2, 1))
        .hasMessageContaining("no usable examples");
    assertThatThrownBy(() -> ShardPlanner.split(new int[] {1}, List.of()))
        .hasMessageContaining("no live worker");
  }
}
