import { VideoGenerationError } from "../errors/video-generation-error.ts";
import type { RecordProgress } from "./record-progress.ts";
import type { StageContext } from "./stage-context.ts";
import { requestSlot } from "./steps/slot-step.ts";
import { inStep } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { EVENT_NAMES } from "./video-generation-events.ts";
import { evenFallbackMs, fallbackWaitMs, slotWaitTimings } from "./wait-schedule.ts";

/**
 * Takes a slot of the provider budget, queueing for one when none is free: the run waits for
 * `video/generation.slot-granted` (a freed slot is handed to the oldest waiter, who is woken at once), and checks
 * again on a growing fallback in case the event was missed. Fails with `budget_exhausted` after the queue timeout.
 */
export async function waitForSlot(input: {
  context: StageContext;
  generationId: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<void> {
  const { context, generationId, dependencies, progress } = input;
  const { settings } = dependencies;
  const { capMs, watched } = slotWaitTimings(settings);
  let queuedSince: string | undefined;
  for (let check = 0; ; check++) {
    const slot = await context.step.run(
      `slot-${check}`,
      inStep(context, () => requestSlot({ generationId, queuedSince, dependencies, progress })),
    );
    if (slot.acquired) return;
    queuedSince ??= slot.checkedAt;
    const remainingMs = settings.queueTimeoutMs - slot.waitedMs;
    if (check + 1 >= settings.maxSlotChecks || remainingMs < 1_000) {
      throw new VideoGenerationError(
        "timeout",
        `no provider slot became free within ${Math.round(slot.waitedMs / 60_000)} min of waiting (VIDEO_GEN_BUDGET=${settings.budget}, VIDEO_GEN_QUEUE_TIMEOUT_S=${Math.round(settings.queueTimeoutMs / 1000)})`,
        { code: "budget_exhausted", retryable: false },
      );
    }
    await context.step.waitForGenerationEvent(`slot-wait-${check}`, {
      event: EVENT_NAMES.slotGranted,
      generationId,
      // The checks left cover the rest of the queue timeout however few they are.
      timeoutMs: evenFallbackMs(
        fallbackWaitMs(check, capMs, watched),
        remainingMs,
        settings.maxSlotChecks - check - 1,
      ),
    });
  }
}
