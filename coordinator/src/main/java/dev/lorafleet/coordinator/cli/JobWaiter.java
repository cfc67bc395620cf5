package dev.lorafleet.coordinator.cli;

import dev.lorafleet.coordinator.api.JobView;
import dev.lorafleet.coordinator.cli.ApiClient.ApiException;
import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;

/**
 * Polls a job until it ends, showing progress. A coordinator that goes away for a while (it is
 * restarting and will resume the job) is waited for, up to {@link #UNREACHABLE_LIMIT_NANOS}.
 */
final class JobWaiter {
  static final long UNREACHABLE_LIMIT_NANOS = TimeUnit.MINUTES.toNanos(5);

  private final ApiClient api;
  private final long pollIntervalMillis;
  private final PrintWriter err;

  JobWaiter(ApiClient api, long pollIntervalMillis, PrintWriter err) {
    this.api = api;
    this.pollIntervalMillis = pollIntervalMillis;
    this.err = err;
  }

  /** Waits until {@code job} is in a terminal state and answers its last view. */
  JobView waitForEnd(JobView job, PrintWriter out) throws InterruptedException {
    ProgressPrinter progress = ProgressPrinter.forConsole(out);
    progress.update(job);
    long unreachableSince = -1;
    while (!job.state().isTerminal()) {
      // polling a remote API: there is no event to wait on, so this is the wait
      TimeUnit.MILLISECONDS.sleep(pollIntervalMillis);
      try {
        job = api.job(job.id());
        unreachableSince = -1;
      } catch (ApiException e) {
        if (e.status() != 0 && e.status() != 502 && e.status() != 503) {
          throw e;
        }
        long now = System.nanoTime();
        if (unreachableSince < 0) {
          unreachableSince = now;
          err.println(
              "lorafleet: lost the coordinator ("
                  + e.getMessage()
                  + "); still waiting for job "
                  + job.id());
          err.flush();
        } else if (now - unreachableSince > UNREACHABLE_LIMIT_NANOS) {
          throw e;
        }
        continue;
      }
      progress.update(job);
    }
    progress.finish(job);
    return job;
  }
}
