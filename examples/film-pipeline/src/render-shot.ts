import type { Inngest } from "inngest";
import type { createVideoGenerateFunctions } from "video-generate-stage";
import { shotGenerationId, shotRenderRequested } from "./film-events.ts";

/** The stage's `video-generate` function, as `createVideoGenerateFunctions` builds it on this app's client. */
export type VideoGenerateFunction = ReturnType<typeof createVideoGenerateFunctions>[0];

/**
 * Runs the stage as a child of this run and awaits its response (typed: the function instance was built on this
 * app's client). A failed generation makes `step.invoke` throw here, with the stage's error code in the message.
 */
export function createRenderShot(inngest: Inngest.Any, videoGenerate: VideoGenerateFunction) {
  return inngest.createFunction(
    { id: "render-shot", triggers: [shotRenderRequested] },
    async ({ event, step }) => {
      const { film_id: filmId, shot } = event.data;
      const video = await step.invoke("generate", {
        function: videoGenerate,
        data: {
          prompt: shot.prompt,
          reference_image: shot.image,
          duration: shot.duration,
          generation_id: shotGenerationId(filmId, shot.id),
          correlation: { film: filmId, shot: shot.id },
        },
        timeout: "2h",
      });
      return { url: video.video_url, seconds: video.duration, cache_hit: video.cache_hit };
    },
  );
}
