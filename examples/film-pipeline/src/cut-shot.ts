import type { Inngest } from "inngest";
import { videoGenerationCanceled, videoGenerationCancelRequested } from "video-generate-stage";
import { shotCut, shotGenerationId } from "./film-events.ts";

/**
 * Cancels a shot's generation and reports what the stage did: `video/generation.canceled` says whether the
 * provider task was canceled too (only while it is PENDING; a RUNNING task finishes and is billed). No `canceled`
 * event within the timeout means there was nothing left to cancel: the generation had already ended.
 */
export function createCutShot(inngest: Inngest.Any) {
  return inngest.createFunction({ id: "cut-shot", triggers: [shotCut] }, async ({ event, step }) => {
    const generationId = shotGenerationId(event.data.film_id, event.data.shot_id);
    // Wait and send in one parallel group, as in render-film: the stage may announce the cancel at once.
    const [canceled] = await Promise.all([
      step.waitForEvent("generation-canceled", {
        event: videoGenerationCanceled,
        timeout: "5m",
        if: `async.data.generation_id == '${generationId}'`,
      }),
      step.sendEvent(
        "cancel-generation",
        videoGenerationCancelRequested.create({ generation_id: generationId, reason: event.data.reason }),
      ),
    ]);
    return {
      generation_id: generationId,
      canceled: canceled !== null,
      provider_task_canceled: canceled?.data.provider_task_canceled ?? false,
    };
  });
}
