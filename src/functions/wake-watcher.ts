import type { StageContext } from "./stage-context.ts";
import { watchRequestedEvent } from "./video-generation-events.ts";

/**
 * Sends `watch-requested` as the durable step `stepId` (`wake-watcher` after the submit, `wake-watcher-N` after a
 * fallback check that found no watcher). A failed send never fails the run: its fallback checks still find the end.
 */
export async function wakeWatcher(
  context: Pick<StageContext, "step" | "logger">,
  stepId: string,
  reason: "submit" | "fallback",
): Promise<void> {
  try {
    await context.step.sendEvent(stepId, watchRequestedEvent(reason));
  } catch (error) {
    context.logger.warn("the task watcher could not be woken; the run checks on its own schedule", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
