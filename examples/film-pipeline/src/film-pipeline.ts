import type { Inngest } from "inngest";
import { createVideoGenerateFunctions, type VideoGenerateDependencies } from "video-generate-stage";
import { createCutShot } from "./cut-shot.ts";
import { createRenderFilm } from "./render-film.ts";
import { createRenderShot } from "./render-shot.ts";
import { createRequestShot } from "./request-shot.ts";

/**
 * The film pipeline on one Inngest client: the stage's functions (built on this client with the dependencies
 * `composeStage` made) next to this app's own. Serve `functions` with any `serve()` adapter.
 */
export function createFilmPipeline(inngest: Inngest.Any, dependencies: VideoGenerateDependencies) {
  const stageFunctions = createVideoGenerateFunctions(inngest, dependencies);
  const [videoGenerate] = stageFunctions;
  const requestShot = createRequestShot(inngest);
  const renderFilm = createRenderFilm(inngest);
  const renderShot = createRenderShot(inngest, videoGenerate);
  const cutShot = createCutShot(inngest);
  return {
    videoGenerate,
    requestShot,
    renderFilm,
    renderShot,
    cutShot,
    functions: [...stageFunctions, requestShot, renderFilm, renderShot, cutShot],
  };
}
