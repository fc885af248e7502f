import type { Inngest } from "inngest";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { videoGenerationWatchRequested, watchRequestedEvent } from "./video-generation-events.ts";
import { watchTasks } from "./watch-tasks.ts";

/** The function id; with the app id it forms `<app>-video-generate-watcher`. Never renamed. */
export const TASK_WATCHER_FUNCTION_ID = "video-generate-watcher";

/**
 * Rounds per run (a `watch-N` step, and a `signal-N` step when there was something to announce): at most 301 steps,
 * far inside Inngest's 1,000 per run, after which the watcher continues in a fresh run that takes over its lease.
 */
const ROUNDS_PER_RUN = 150;

/**
 * The account-wide task watcher, durable on Inngest: one run at a time (`concurrency` 1, and the lease in the
 * metadata store, which also keeps a second app or a late run from acting), started by `watch-requested` when a run
 * submits a task and no watcher holds the lease. It repeats `watch-N` (see `watchTasks`: up to 10 s of checks, one
 * task-list call for all tasks in flight) and `signal-N` (the `task-ended` and `slot-granted` events it owes), ends
 * when nothing is in flight, and continues in a fresh run before its step count grows large. Its cost follows the
 * tasks in flight and their endings, never the number of runs waiting. A watcher that dies (its worker killed
 * mid-check) is retried by Inngest on another worker; one that is gone is replaced when its lease runs out by the
 * next run that submits or finds it gone at its fallback check.
 */
export function createTaskWatcherFunction(inngest: Inngest.Any, dependencies: VideoGenerateDependencies) {
  return inngest.createFunction(
    {
      id: TASK_WATCHER_FUNCTION_ID,
      name: "Watch the account's DashScope tasks",
      triggers: [videoGenerationWatchRequested],
      retries: 6,
      concurrency: { limit: 1 },
    },
    async ({ event, step, runId, logger }) => {
      const successorOf = (event.data as { successor_of?: string }).successor_of;
      const log = logger as unknown as { warn: (fields: object, message: string) => void };
      let endings = 0;
      for (let round = 0; round < ROUNDS_PER_RUN; round++) {
        const outcome = await step.run(`watch-${round}`, () =>
          watchTasks({
            holder: runId,
            successorOf,
            dependencies,
            logger: { warn: (message, fields) => log.warn(fields ?? {}, message) },
          }),
        );
        endings += outcome.endings;
        if (outcome.events.length > 0) await step.sendEvent(`signal-${round}`, outcome.events);
        if (outcome.state !== "watching") return { ended: outcome.state, rounds: round + 1, endings };
      }
      await step.sendEvent("continue", watchRequestedEvent("continue", runId));
      return { ended: "continued", rounds: ROUNDS_PER_RUN, endings };
    },
  );
}
