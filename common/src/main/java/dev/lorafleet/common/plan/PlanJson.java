package dev.lorafleet.common.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A plan as one JSON object, the same for {@code plan --json} and {@code POST /api/v1/plan}:
 *
 * <pre>
 * {"model", "architecture", "totalParams", "baseParams", "trainableParams", "trainablePercent",
 *  "adapterBytes", "coordinatorBytes",
 *  "memoryPerGpuBytes": {"total", "weights", "adapter", "gradients", "optimizer", "activations",
 *                        "overhead", "activationParts": {…}, "microBatchSize", "seqLen"},
 *  "fitsOn": {"24GB": true, …}, "maxMicroBatchSize": {"24GB": 2, …},
 *  "gpusPerWorker", "workers", "totalGpus",
 *  "globalBatch": {"size", "microBatchSize", "samplesPerGpu", "accumulationSteps", "divides"},
 *  "stepsPerEpoch", "tokensPerEpoch", "tokensPerSecondPerGpu", "secondsPerEpoch",
 *  "costPerEpoch", "totalCost", "pricePerGpuHour", "currency",
 *  "epochs": [{"epoch", "samples", "tokens", "seconds", "cost"}],
 *  "assumptions": [...], "unavailable": [...]}
 * </pre>
 *
 * Figures that cannot be known (no datasets, no throughput) are {@code null}, and {@code
 * unavailable} says why.
 */
public final class PlanJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PlanJson() {}

  /** The plan as a JSON tree. */
  public static ObjectNode toTree(TrainingPlan plan) {
    ObjectNode root = JSON.createObjectNode();
    root.put("model", plan.model());
    root.put("architecture", plan.config().architecture().hfName());
    ParameterCounts p = plan.parameters();
    root.put("totalParams", p.totalParams());
    root.put("baseParams", p.baseParams());
    root.put("trainableParams", p.trainableParams());
    root.put("trainablePercent", p.trainablePercent());
    root.put("adapterBytes", plan.adapterBytes());
    root.put("coordinatorBytes", plan.coordinatorBytes());

    MemoryEstimate m = plan.memoryPerGpu();
    ObjectNode memory = root.putObject("memoryPerGpuBytes");
    memory.put("total", m.total());
    memory.put("weights", m.weights());
    memory.put("adapter", m.adapter());
    memory.put("gradients", m.gradients());
    memory.put("optimizer", m.optimizer());
    memory.put("activations", m.activations().total());
    memory.put("overhead", m.overhead());
    Activations a = m.activations();
    ObjectNode parts = memory.putObject("activationParts");
    parts.put("norms", a.norms());
    parts.put("attentionProjections", a.attentionProjections());
    parts.put("attentionScores", a.attentionScores());
    parts.put("mlp", a.mlp());
    parts.put("lora", a.lora());
    parts.put("lossHead", a.lossHead());
    memory.put("microBatchSize", a.microBatchSize());
    memory.put("seqLen", a.seqLen());

    ObjectNode fits = root.putObject("fitsOn");
    ObjectNode maxMicro = root.putObject("maxMicroBatchSize");
    for (GpuFit fit : plan.fitsOn()) {
      fits.put(fit.gpu().label(), fit.fits());
      maxMicro.put(fit.gpu().label(), fit.maxMicroBatchSize());
    }

    BatchPlan b = plan.batch();
    root.put("gpusPerWorker", b.gpusPerWorker());
    root.put("workers", b.workers());
    root.put("totalGpus", b.totalGpus());
    ObjectNode batch = root.putObject("globalBatch");
    batch.put("size", b.globalBatchSize());
    batch.put("microBatchSize", b.microBatchSize());
    batch.put("samplesPerGpu", b.samplesPerGpu());
    batch.put("accumulationSteps", b.accumulationSteps());
    batch.put("divides", b.divides());

    putNullable(root, "stepsPerEpoch", plan.stepsPerEpoch());
    putNullable(root, "tokensPerEpoch", plan.tokensPerEpoch());
    if (plan.throughput() == null) {
      root.putNull("tokensPerSecondPerGpu");
    } else {
      root.put("tokensPerSecondPerGpu", plan.throughput().tokensPerSecondPerGpu());
    }
    putNullable(root, "secondsPerEpoch", plan.secondsPerEpoch());
    putNullable(root, "costPerEpoch", plan.costPerEpoch());
    putNullable(root, "totalCost", plan.totalCost());
    root.put("pricePerGpuHour", plan.pricePerGpuHour());
    root.put("currency", plan.currency());

    ArrayNode epochs = root.putArray("epochs");
    for (EpochEstimate e : plan.epochs()) {
      ObjectNode node = epochs.addObject();
      node.put("epoch", e.epoch());
      putNullable(node, "samples", e.samples());
      node.put("tokens", e.tokens());
      putNullable(node, "seconds", e.seconds());
      putNullable(node, "cost", e.cost());
    }
    ArrayNode assumptions = root.putArray("assumptions");
    plan.assumptions().forEach(assumptions::add);
    ArrayNode unavailable = root.putArray("unavailable");
    plan.unavailable().forEach(unavailable::add);
    return root;
  }

  /** The plan as one line of JSON. */
  public static String toJson(TrainingPlan plan) {
    try {
      return JSON.writeValueAsString(toTree(plan));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a plan as JSON", e);
    }
  }

  private static void putNullable(ObjectNode node, String field, Number value) {
    if (value == null) {
      node.putNull(field);
    } else if (value instanceof Double d) {
      node.put(field, d);
    } else {
      node.put(field, value.longValue());
    }
  }
}
