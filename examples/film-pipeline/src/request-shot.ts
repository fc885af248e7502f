import type { Inngest } from "inngest";
import { videoGenerationRequested } from "video-generate-stage";
import { shotGenerationId, shotRequested } from "./film-events.ts";

/**
 * Sends one `video/generation.requested` and returns at once; the stage answers later with
 * `video/generation.completed` (or `.failed`) carrying the same `correlation`.
 */
export function createRequestShot(inngest: Inngest.Any) {
  return inngest.createFunction(
    { id: "request-shot", triggers: [shotRequested] },
    async ({ event, step }) => {
      const { film_id: filmId, shot } = event.data;
      const generationId = shotGenerationId(filmId, shot.id);
      // create() validates against the stage's request schema: a misspelt field or a duration of 99 throws here.
      await step.sendEvent(
        "request-video",
        videoGenerationRequested.create({
          prompt: shot.prompt,
          reference_image: shot.image,
          duration: shot.duration,
          generation_id: generationId,
          correlation: { film: filmId, shot: shot.id },
        }),
      );
      return { generation_id: generationId };
    },
  );
}
