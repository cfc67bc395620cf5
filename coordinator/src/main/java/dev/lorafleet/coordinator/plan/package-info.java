/**
 * {@code lorafleet plan} behind the command line and the API: reads a model's {@code config.json},
 * counts the job's training tokens the way the shard planner mixes datasets, and hands both to
 * {@link dev.lorafleet.common.plan.TrainingPlanner}.
 */
package dev.lorafleet.coordinator.plan;
