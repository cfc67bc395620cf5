package dev.lorafleet.coordinator.cli;

import dev.lorafleet.common.model.Architecture;
import dev.lorafleet.worker.data.DemoDataWriter;
import dev.lorafleet.worker.data.TinyTokenizerWriter;
import dev.lorafleet.worker.model.TinyModelWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The embedded demo: a tiny Llama-architecture model, a toy instruction task with eval sets and a
 * job spec, created once under {@code ./lorafleet-demo/}, then trained like {@code run} with two
 * local workers.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Train a tiny built-in model with LoRA on 2 local workers (creates ./lorafleet-demo/ once).")
final class DemoCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--dir",
      defaultValue = "lorafleet-demo",
      description = "Where the demo's model, data, spec and runs live (default ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--local-workers",
      defaultValue = "2",
      description = "Worker processes (default ${DEFAULT-VALUE}).")
  int workers;

  static final String JOB_FILE = "job.yaml";
  private static final String COMPLETE = ".complete";

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path job = ensureDemoFiles(dir, out);
    return new LocalRun(out, spec.commandLine().getErr()).run(job, workers, dir.resolve("runs"));
  }

  /** Creates the demo's files once (deterministically); later calls reuse them. */
  static Path ensureDemoFiles(Path dir, PrintWriter out) throws IOException {
    Path job = dir.resolve(JOB_FILE);
    if (Files.isRegularFile(dir.resolve(COMPLETE)) && Files.isRegularFile(job)) {
      return job;
    }
    out.println("lorafleet demo: creating a tiny model, a toy dataset and a job spec in " + dir);
    out.flush();
    Path model = dir.resolve("model");
    new TinyModelWriter()
        .optArchitecture(Architecture.LLAMA)
        .optVocabSize(TinyTokenizerWriter.DEFAULT_VOCAB_SIZE)
        .optHiddenSize(64)
        .optIntermediateSize(176)
        .optLayers(2)
        .optHeads(4, 2)
        .optSeed(42)
        .write(model);
    new TinyTokenizerWriter().write(model);
    // 192 + 48 training examples: small enough for three epochs in well under two minutes on two
    // CPU cores (the trainer does ~20 examples a second per core on the tiny model)
    new DemoDataWriter(192, 48, 48, 24, 42L).write(dir.resolve("data"));
    Files.writeString(
        job,
        """
        # The demo job: teach a tiny Llama to reverse word lists, with 20% of a "repeat the words"
        # task mixed back in against forgetting; "repeat" is the regression eval set.
        name: demo
        model: model
        datasets:
          - {path: data/train.jsonl, weight: 0.8}
          - {path: data/general.jsonl, weight: 0.2}
        eval:
          - {name: reverse, path: data/eval.jsonl}
          - {name: repeat, path: data/general-eval.jsonl}
        lora: {r: 8, alpha: 16, dropout: 0.0, targetModules: [q_proj, k_proj, v_proj, o_proj]}
        training: {epochs: 3, learningRate: 8.0e-3, scheduler: cosine, warmupSteps: 3,
                   globalBatchSize: 32, microBatchSize: 8, maxSeqLen: 96, seed: 42,
                   weightDecay: 0.0, maxGradNorm: 1.0}
        cluster: {workers: 2, gpusPerWorker: 1, pricePerGpuHour: 2.5, currency: USD}
        checkpoint: {everySteps: 10, keepLast: 2}
        """);
    Files.writeString(dir.resolve(COMPLETE), "");
    return job;
  }
}
