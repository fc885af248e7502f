import type { Inngest } from "inngest";
import { videoGenerationCompleted, videoGenerationRequested } from "video-generate-stage";
import { filmRenderRequested, shotGenerationId } from "./film-events.ts";

/**
 * Fans out one request per shot and fans in on each shot's `video/generation.completed`, matched on the
 * correlation the request carried. Returns each shot's generation and video URL, in order; `null` for a shot with no
 * `completed` within the timeout (it failed or was canceled: `video/generation.failed` / `.canceled` say which).
 */
export function createRenderFilm(inngest: Inngest.Any) {
  return inngest.createFunction(
    { id: "render-film", triggers: [filmRenderRequested] },
    async ({ event, step }) => {
      const { film_id: filmId, shots } = event.data;
      // The waits and the send are one parallel group: with more than one step found, the SDK runs none of them
      // at once but reports them together, so the waits exist before the planned send runs. A wait only sees
      // events that arrive after it starts, and the cache can answer a shot within milliseconds.
      const [completed] = await Promise.all([
        Promise.all(
          shots.map((shot) =>
            step.waitForEvent(`shot-${shot.id}-completed`, {
              event: videoGenerationCompleted,
              timeout: "2h",
              if: `async.data.correlation.film == '${filmId}' && async.data.correlation.shot == '${shot.id}'`,
            }),
          ),
        ),
        step.sendEvent(
          "request-shots",
          shots.map((shot) =>
            videoGenerationRequested.create({
              prompt: shot.prompt,
              reference_image: shot.image,
              duration: shot.duration,
              generation_id: shotGenerationId(filmId, shot.id),
              correlation: { film: filmId, shot: shot.id },
            }),
          ),
        ),
      ]);
      return {
        film_id: filmId,
        shots: shots.map((shot, index) => ({
          shot_id: shot.id,
          generation_id: completed[index]?.data.generation_id ?? null,
          video_url: completed[index]?.data.video_url ?? null,
        })),
      };
    },
  );
}
