import { createServer, type Server } from "node:http";
import { Inngest, referenceFunction } from "inngest";
import { serve } from "inngest/node";
import { findFreePort } from "../helpers/free-port.ts";
import { syncApp } from "./sync-app.ts";

/** One shot of a film: its id and prompt (every shot uses the sample image). */
export interface Shot {
  id: string;
  prompt: string;
}

/** An ending the collector saw, keyed by the correlation the host app put on the request. */
export interface CollectedEnding {
  event: string;
  film: string;
  shot: string;
  generationId: string;
}

/** An orchestrator app (`film-pipeline`) served from the test process, as docs/orchestrators.md shows it. */
export interface HostApp {
  endpoint: string;
  /** Endings recorded by its `collect-shots` function (fan-in by correlation). */
  collected: CollectedEnding[];
  close(): Promise<void>;
}

/** The stage as another app sees it: by app and function id only. */
const videoGenerate = referenceFunction({ appId: "video-agent", functionId: "video-generate" });

/**
 * Serves `film-pipeline` on a free port with `inngest/node` and syncs it to the dev server at `inngestUrl`:
 * - `render-film` (`film/render.requested` `{ film, image, shots }`): one `step.sendEvent` fanning out a request per
 *   shot, then a `step.waitForEvent` per shot on `video/generation.completed` matched by correlation; returns the
 *   shots' video URLs (`{ urls }`, null for a shot that never completed);
 * - `collect-shots` (`video/generation.completed` / `failed`): records each ending with a film correlation;
 * - `render-shot` (`film/shot.requested` `{ generation_id, image, prompt }`): `step.invoke` of the stage, awaiting
 *   its response.
 */
export async function startHostApp(inngestUrl: string): Promise<HostApp> {
  const inngest = new Inngest({ id: "film-pipeline", isDev: true, baseUrl: inngestUrl });
  const collected: CollectedEnding[] = [];

  const renderFilm = inngest.createFunction(
    { id: "render-film", triggers: [{ event: "film/render.requested" }] },
    async ({ event, step }) => {
      const film = String(event.data.film);
      const image = String(event.data.image);
      const shots = event.data.shots as Shot[];
      await step.sendEvent(
        "request-shots",
        shots.map((shot) => ({
          name: "video/generation.requested",
          data: {
            prompt: shot.prompt,
            reference_image: image,
            duration: 2,
            generation_id: `film-${film}-shot-${shot.id}`,
            correlation: { film, shot: shot.id },
          },
        })),
      );
      const completed = await Promise.all(
        shots.map((shot) =>
          step.waitForEvent(`shot-${shot.id}-done`, {
            event: "video/generation.completed",
            timeout: "5m",
            if: `async.data.correlation.film == '${film}' && async.data.correlation.shot == '${shot.id}'`,
          }),
        ),
      );
      return { urls: completed.map((ending) => (ending ? String(ending.data.video_url) : null)) };
    },
  );

  const collectShots = inngest.createFunction(
    {
      id: "collect-shots",
      triggers: [{ event: "video/generation.completed" }, { event: "video/generation.failed" }],
    },
    async ({ event, step }) => {
      const correlation = event.data.correlation as Record<string, unknown> | null;
      if (!correlation?.film) return { ignored: true };
      const ending = await step.run("record-shot", () => ({
        event: event.name,
        film: String(correlation.film),
        shot: String(correlation.shot),
        generationId: String(event.data.generation_id),
      }));
      collected.push(ending);
      return { recorded: true };
    },
  );

  const renderShot = inngest.createFunction(
    { id: "render-shot", triggers: [{ event: "film/shot.requested" }] },
    async ({ event, step }) => {
      const video = (await step.invoke("generate", {
        function: videoGenerate,
        data: {
          prompt: String(event.data.prompt),
          reference_image: String(event.data.image),
          duration: 2,
          generation_id: String(event.data.generation_id),
        },
        timeout: "5m",
      })) as { video_url: string; generation_id: string; cache_hit: boolean; task_id: string };
      return {
        url: video.video_url,
        generation_id: video.generation_id,
        cache_hit: video.cache_hit,
        task_id: video.task_id,
      };
    },
  );

  const handler = serve({ client: inngest, functions: [renderFilm, collectShots, renderShot] });
  const server: Server = createServer((request, response) => {
    if (request.url?.startsWith("/api/inngest")) return void handler(request, response);
    response.writeHead(404);
    response.end();
  });
  const port = await findFreePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const endpoint = `http://127.0.0.1:${port}/api/inngest`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  try {
    await syncApp(endpoint);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, collected, close };
}
