package dev.lorafleet.worker.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lorafleet.worker.data.TokenizedExample;
import java.util.List;

/**
 * A right-padded batch of examples with the positions that carry loss: position {@code t} of row
 * {@code b} predicts {@code labels[t+1]} (the Hugging Face shift); positions whose next label is
 * {@code -100}, and padding, carry none.
 *
 * @param rows flattened {@code b·T + t} of each loss position
 * @param targets the token each loss position must predict
 * @param rowOfTarget for each loss position, its row in the batch
 */
record MicroBatch(
    List<TokenizedExample> examples,
    long[] ids,
    int[] lengths,
    int seqLen,
    long[] rows,
    long[] targets,
    int[] rowOfTarget) {

  static MicroBatch of(List<TokenizedExample> examples, int vocabSize) {
    int seq = 1;
    for (TokenizedExample e : examples) {
      seq = Math.max(seq, e.inputIds().length);
    }
    int batch = examples.size();
    long[] ids = new long[batch * seq];
    int[] lengths = new int[batch];
    int lossTokens = 0;
    for (TokenizedExample e : examples) {
      lossTokens += e.lossTokens();
    }
    long[] rows = new long[lossTokens];
    long[] targets = new long[lossTokens];
    int[] rowOfTarget = new int[lossTokens];
    int k = 0;
    for (int b = 0; b < batch; b++) {
      TokenizedExample e = examples.get(b);
      int[] in = e.inputIds();
      int[] labels = e.labels();
      if (in.length == 0) {
        throw new IllegalArgumentException("example " + e.index() + " has no tokens");
      }
      lengths[b] = in.length;
      for (int t = 0; t < in.length; t++) {
        if (in[t] < 0 || in[t] >= vocabSize) {
          throw new IllegalArgumentException(
              "example "
                  + e.index()
                  + ": token id "
                  + in[t]
                  + " at position "
                  + t
                  + " is outside the model's vocabulary of "
                  + vocabSize);
        }
        ids[b * seq + t] = in[t];
      }
      for (int t = 1; t < labels.length; t++) {
        int label = labels[t];
        if (label == TokenizedExample.IGNORE_INDEX) {
          continue;
        }
        if (label < 0 || label >= vocabSize) {
          throw new IllegalArgumentException(
              "example "
                  + e.index()
                  + ": label "
                  + label
                  + " at position "
                  + t
                  + " is neither -100 nor inside the vocabulary of "
                  + vocabSize);
        }
        rows[k] = (long) b * seq + (t - 1);
        targets[k] = label;
        rowOfTarget[k] = b;
        k++;
      }
    }
    return new MicroBatch(examples, ids, lengths, seq, rows, targets, rowOfTarget);
  }

  int size() {
    return examples.size();
  }

  int lossTokens() {
    return rows.length;
  }

  int[] exampleIndices() {
    int[] out = new int[examples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = examples.get(i).index();
    }
    return out;
  }

  NDArray idsArray(NDManager manager) {
    return manager.create(ids, new Shape(examples.size(), seqLen));
  }
}
