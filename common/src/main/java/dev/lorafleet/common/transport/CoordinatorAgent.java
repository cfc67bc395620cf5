package dev.lorafleet.common.transport;

import dev.lorafleet.common.wire.VectorFrame;
import dev.lorafleet.common.wire.WireDtype;
import io.aeron.Subscription;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's data-plane duty cycle: takes commands from the {@link CoordinatorProxy}, polls
 * gradients into each job's {@link GradientReducer}, completes gathers (or times them out), and
 * pushes parameter broadcasts out a bounded number of chunks per cycle so that gathering and
 * broadcasting share the thread fairly. Everything here runs on the agent's one thread.
 */
public final class CoordinatorAgent implements Agent, GradientAdapter.Listener {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorAgent.class);
  private static final int FRAGMENT_LIMIT = 256;
  private static final int CHUNKS_PER_CYCLE = 64;

  /** One parameter vector to send; {@code future} is null for a re-send a worker asked for. */
  private record Send(
      CoordinatorJob job, long step, float[] values, CompletableFuture<Void> future) {}

  private final Subscription gradients;
  private final VectorPublisher parameters;
  private final ManyToOneConcurrentArrayQueue<CoordinatorCommand> commands;
  private final NanoClock clock;
  private final TransportCounters counters;
  private final long sendTimeoutNanos;
  private final Long2ObjectHashMap<CoordinatorJob> jobs = new Long2ObjectHashMap<>();
  private final GradientAdapter adapter;
  private final ArrayDeque<Send> sends = new ArrayDeque<>();
  private Send current;
  private long lastSendProgressNanos;

  public CoordinatorAgent(
      Subscription gradients,
      VectorPublisher parameters,
      ManyToOneConcurrentArrayQueue<CoordinatorCommand> commands,
      NanoClock clock,
      TransportCounters counters,
      DataPlaneConfig config) {
    this.gradients = gradients;
    this.parameters = parameters;
    this.commands = commands;
    this.clock = clock;
    this.counters = counters;
    this.sendTimeoutNanos = config.sendTimeout().toNanos();
    this.adapter = new GradientAdapter(jobs, counters, config.maxVectorLength(), this);
  }

  @Override
  public String roleName() {
    return "lorafleet-coordinator-dataplane";
  }

  @Override
  public int doWork() {
    int work = drainCommands();
    work += gradients.controlledPoll(adapter, FRAGMENT_LIMIT);
    long now = clock.nanoTime();
    work += checkDeadlines(now);
    work += progressBroadcast(now);
    return work;
  }

  @Override
  public void onClose() {
    DataPlaneException closed = new DataPlaneException("the coordinator's data plane was closed");
    for (CoordinatorJob job : jobs.values()) {
      if (job.future != null) {
        job.future.completeExceptionally(closed);
      }
    }
    if (current != null && current.future() != null) {
      current.future().completeExceptionally(closed);
    }
    for (Send send : sends) {
      if (send.future() != null) {
        send.future().completeExceptionally(closed);
      }
    }
    CoordinatorCommand command;
    while ((command = commands.poll()) != null) {
      if (command instanceof CoordinatorCommand.Gather gather) {
        gather.future().completeExceptionally(closed);
      } else if (command instanceof CoordinatorCommand.Broadcast broadcast) {
        broadcast.future().completeExceptionally(closed);
      }
    }
  }

  @Override
  public int drainCommands() {
    int drained = 0;
    CoordinatorCommand command;
    while ((command = commands.poll()) != null) {
      drained++;
      if (command instanceof CoordinatorCommand.Gather gather) {
        onGather(gather);
      } else if (command instanceof CoordinatorCommand.Broadcast broadcast) {
        onBroadcast(broadcast);
      } else if (command instanceof CoordinatorCommand.EndJob end) {
        onEndJob(end);
      } else if (command instanceof CoordinatorCommand.Recycle recycle) {
        CoordinatorJob job = jobs.get(VectorFrame.key(recycle.jobId()));
        if (job != null) {
          job.spare = recycle.sum();
        }
      }
    }
    return drained;
  }

  private void onGather(CoordinatorCommand.Gather command) {
    CoordinatorJob job = job(command.jobId());
    GradientReducer reducer;
    try {
      reducer =
          new GradientReducer(
              command.jobId(),
              command.step(),
              command.round(),
              command.workerIds(),
              command.length(),
              counters,
              job.spare);
      job.spare = null;
    } catch (RuntimeException e) {
      command.future().completeExceptionally(e);
      return;
    }
    if (job.gather != null) {
      timeOut(job); // replaced before it finished
    }
    job.gather = reducer;
    job.future = command.future();
    job.deadlineNanos = command.deadlineNanos();
  }

  private void onBroadcast(CoordinatorCommand.Broadcast command) {
    CoordinatorJob job = job(command.jobId());
    job.parameters = command.parameters();
    job.parameterStep = command.step();
    job.resendAfterCurrent = false;
    // an older version of this job still waiting or in flight is superseded
    for (Iterator<Send> it = sends.iterator(); it.hasNext(); ) {
      Send send = it.next();
      if (send.job() == job) {
        it.remove();
        complete(send);
      }
    }
    if (current != null && current.job() == job) {
      parameters.abandon();
      complete(current);
      current = null;
    }
    sends.add(new Send(job, command.step(), command.parameters(), command.future()));
  }

  private void onEndJob(CoordinatorCommand.EndJob command) {
    CoordinatorJob job = jobs.remove(VectorFrame.key(command.jobId()));
    if (job == null) {
      return;
    }
    if (job.future != null) {
      timeOut(job);
    }
    sends.removeIf(send -> send.job() == job && complete(send));
    if (current != null && current.job() == job) {
      parameters.abandon();
      complete(current);
      current = null;
    }
  }

  @Override
  public void onGatherComplete(CoordinatorJob job) {
    GradientReducer gather = job.gather;
    CompletableFuture<GatherResult> future = job.future;
    finish(job, true);
    future.complete(new GatherResult.Complete(gather.result()));
  }

  @Override
  public void onParameterRequest(long jobKey, long minStep) {
    CoordinatorJob job = jobs.get(jobKey);
    if (job == null) {
      return; // a worker waiting for a job's first parameters: the broadcast will bring them
    }
    if (job.parameters == null || job.parameterStep < minStep) {
      return; // that version does not exist yet: the broadcast will bring it
    }
    if (current != null && current.job() == job) {
      // the asker may have joined after the start of this very send
      job.resendAfterCurrent = true;
      return;
    }
    for (Send send : sends) {
      if (send.job() == job) {
        return; // already queued
      }
    }
    sends.add(new Send(job, job.parameterStep, job.parameters, null));
  }

  private int checkDeadlines(long now) {
    int work = 0;
    for (CoordinatorJob job : jobs.values()) {
      if (job.gather != null && now - job.deadlineNanos >= 0) {
        timeOut(job);
        work++;
      }
    }
    return work;
  }

  private void timeOut(CoordinatorJob job) {
    GradientReducer gather = job.gather;
    CompletableFuture<GatherResult> future = job.future;
    finish(job, false);
    job.spare = gather.accumulator(); // nobody saw this sum: the next gather reuses the array
    GatherResult.TimedOut result =
        new GatherResult.TimedOut(
            gather.jobId(), gather.step(), gather.round(), gather.incomplete(), gather.silent());
    LOG.warn(
        "Job {} step {}: gradients from {} did not all arrive in time ({} sent nothing).",
        gather.jobId(),
        gather.step(),
        result.incomplete(),
        result.silent().isEmpty() ? "every one" : result.silent());
    future.complete(result);
  }

  private static void finish(CoordinatorJob job, boolean complete) {
    job.finishedComplete = complete;
    job.finishedStep = job.gather.step();
    job.finishedRound = job.gather.round();
    job.finishedAhead = job.gather.summedAhead();
    job.gather = null;
    job.future = null;
  }

  private int progressBroadcast(long now) {
    if (current == null) {
      current = sends.poll();
      if (current == null) {
        return 0;
      }
      parameters.begin(
          VectorFrame.KIND_PARAMETERS,
          WireDtype.FP32,
          current.job().key,
          current.step(),
          0L,
          0,
          current.values(),
          current.values().length,
          0L,
          0.0);
      lastSendProgressNanos = now;
    }
    VectorPublisher.Progress progress = parameters.progress(CHUNKS_PER_CYCLE);
    switch (progress) {
      case DONE, NOT_CONNECTED -> {
        // not connected: no worker listens now; a worker that connects asks for a re-send
        Send done = current;
        current = null;
        complete(done);
        if (done.job().resendAfterCurrent && jobs.get(done.job().key) == done.job()) {
          done.job().resendAfterCurrent = false;
          sends.add(new Send(done.job(), done.step(), done.values(), null));
        }
        return 1;
      }
      case SENDING -> {
        lastSendProgressNanos = now;
        return 1;
      }
      case BACK_PRESSURED -> {
        if (now - lastSendProgressNanos > sendTimeoutNanos) {
          Send failed = current;
          current = null;
          parameters.abandon();
          if (failed.future() != null) {
            failed
                .future()
                .completeExceptionally(
                    new DataPlaneException(
                        "job "
                            + failed.job().jobId
                            + ": the parameters of step "
                            + failed.step()
                            + " made no progress for "
                            + sendTimeoutNanos / 1_000_000
                            + " ms; a worker is not reading the broadcast"));
          }
        }
        return 0;
      }
    }
    return 0;
  }

  private static boolean complete(Send send) {
    if (send.future() != null) {
      send.future().complete(null);
    }
    return true;
  }

  private CoordinatorJob job(String jobId) {
    long key = VectorFrame.key(jobId);
    CoordinatorJob job = jobs.get(key);
    if (job == null) {
      job = new CoordinatorJob(jobId);
      jobs.put(key, job);
    }
    return job;
  }
}
