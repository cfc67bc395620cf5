/**
 * The optimizer the coordinator steps once per global step: gradient averaging by token count,
 * global-norm clipping, AdamW on an fp32 master copy and the learning-rate schedules. Plain Java
 * without Pekko; the job runner calls it on a dedicated executor.
 */
package dev.lorafleet.coordinator.job.optim;
