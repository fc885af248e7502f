import type { GenerationPlan } from "../contract/plan-generation.ts";
import { VideoGenerationError } from "../errors/video-generation-error.ts";
import type { CheckedStatus } from "./checked-status.ts";
import { expectedRenderMs, nextPollDelayMs, watchedPollDelayMs } from "./poll-schedule.ts";
import { announceGrants } from "./provider-budget.ts";
import type { RecordProgress } from "./record-progress.ts";
import type { StageContext } from "./stage-context.ts";
import { generationCanceledError } from "./steps/ensure-not-canceled.ts";
import { checkTask, giveUpOnTask } from "./steps/poll-step.ts";
import { terminalStatusError } from "./terminal-status-error.ts";
import { inStep } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { EVENT_NAMES } from "./video-generation-events.ts";
import { wakeWatcher } from "./wake-watcher.ts";

/**
 * `wait-<n>` then `poll-<n>` (one status check) until the task succeeds; bounded by `maxStatusChecks` and the
 * deadline, after which a still-PENDING task is canceled. Where endings are signalled (the task watcher, DashScope's
 * push), `wait-<n>` is a wait for the task's `task-ended` whose timeout is the fallback schedule's delay, so a
 * signalled run takes one wait and one check, and a fallback check that finds no watcher wakes one
 * (`wake-watcher-<n>`); in process it is a durable sleep on the adaptive schedule. A slot freed when the run's own
 * check sees the task end is handed over at once (`slot-handover`). Returns the last check (SUCCEEDED).
 */
export async function pollUntilDone(input: {
  context: StageContext;
  generationId: string;
  taskId: string;
  plan: GenerationPlan;
  /** Decided by the submit step (learned); absent in older runs, which use the table. */
  expectedRenderMs: number | undefined;
  /** Whether others were queued for a slot at the submit. */
  slotWanted: boolean;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<CheckedStatus> {
  const { context, generationId, taskId, dependencies } = input;
  const { step } = context;
  const { settings } = dependencies;
  const expected =
    input.expectedRenderMs ??
    expectedRenderMs({
      duration: input.plan.provider.duration,
      resolution: input.plan.provider.resolution,
      overrideSeconds: settings.renderEstimateSeconds,
    });
  let last: CheckedStatus | undefined;
  let runningSinceMs: number | undefined;
  let elapsedMs = 0;
  let slotWanted = input.slotWanted;
  for (let check = 0; ; check++) {
    // Where a task watcher signals endings, the run's own checks are only its fallback: sparse, whatever the queue.
    const delay = settings.taskWatcher
      ? watchedPollDelayMs({
          attempt: check,
          elapsedMs,
          expectedRenderMs: expected,
          deadlineMs: settings.deadlineMs,
          maxChecks: settings.maxStatusChecks,
          slotLeaseMs: settings.slotLeaseMs,
        })
      : nextPollDelayMs({
          attempt: check,
          elapsedMs,
          providerStatus: last?.status === "running" ? "running" : last ? "pending" : undefined,
          runningSinceMs,
          expectedRenderMs: expected,
          deadlineMs: settings.deadlineMs,
          maxChecks: settings.maxStatusChecks,
          slotWanted,
        });
    if (delay === null) {
      const gaveUp = await step.run(
        "deadline",
        inStep(context, () => giveUpOnTask({ generationId, taskId, dependencies })),
      );
      await announceGrants(step, "slot-handover", gaveUp.grantedTo);
      throw new VideoGenerationError(
        "timeout",
        `task ${taskId} did not finish within ${Math.round(settings.deadlineMs / 1000)} s (VIDEO_GEN_DEADLINE_S)`,
        { code: "deadline_exceeded", retryable: false },
      );
    }
    if (settings.taskEndSignals || settings.taskWatcher) {
      // Ends at the schedule's delay, or at once when the task's ending is signalled (the watcher, the push): a
      // signalled run takes one wait and one check, and the schedule stays the fallback for a signal that never comes.
      await step.waitForGenerationEvent(`wait-${check}`, {
        event: EVENT_NAMES.taskEnded,
        generationId,
        timeoutMs: delay,
      });
    } else {
      // Nothing signals endings in this deployment: a plain durable sleep (no pause for the server to match).
      await step.sleep(`wait-${check}`, delay);
    }
    const checked = await step.run(
      `poll-${check}`,
      inStep(context, () =>
        checkTask({
          generationId,
          taskId,
          progress: Math.min(0.95, (elapsedMs + delay) / expected),
          dependencies,
          recordProgress: input.progress,
        }),
      ),
    );
    elapsedMs += delay;
    slotWanted = checked.slotWanted === true;
    await announceGrants(step, "slot-handover", checked.grantedTo);
    if (checked.watcherWanted) await wakeWatcher(context, `wake-watcher-${check}`, "fallback");
    if (checked.status === "running" && runningSinceMs === undefined) runningSinceMs = elapsedMs;
    last = checked;
    if (checked.status === "pending" || checked.status === "running") continue;
    if (checked.status === "succeeded") return checked;
    // Canceled through the record (by `video-gen cancel` or the cancel function) while this run slept.
    if (checked.generationCanceled) {
      throw generationCanceledError(generationId);
    }
    throw terminalStatusError(taskId, checked);
  }
}
