import type { VideoGenerateResponse } from "../../contract/video-generate-response.ts";
import { storePoster } from "../../media/store-poster.ts";
import { videoKeyOfStorageUri } from "../../metadata/media-keys.ts";
import type { StageLogger, VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/** What `poster` hands on: a key, never the image (step outputs stay small). */
export type PosterOutcome = { posterKey: string } | { posterKey: null; reason: string };

/** Longest reason kept in a warning (ffmpeg's stderr tail can run to many lines). */
const REASON_MAX_LENGTH = 300;
/**
 * Longest a poster may take, download of an S3 video included, in ms; then ffmpeg is killed and the generation goes
 * on without one. A poster takes well under 2 s (docs/benchmarks.md), so only a stuck read or ffmpeg gets here.
 */
export const POSTER_TIMEOUT_MS = 120_000;

/**
 * Step `poster`: a poster beside the stored video (`posters/<video base name>.webp`), its key recorded. A run that
 * answers with another generation's video (a cache hit, an identical generation) reuses that generation's poster
 * when it still exists, and otherwise makes it (recording it on that generation too). A poster is a convenience for
 * operators: any failure is logged and returned as a reason, never thrown, so it cannot fail or retry a generation
 * whose video is already stored.
 */
export async function makeGenerationPoster(input: {
  generationId: string;
  /** The response this run will persist (its `storage_uri` names the stored video). */
  response: VideoGenerateResponse;
  /** The generation whose stored video answers this one; absent when this run stored the video itself. */
  sourceGenerationId?: string;
  dependencies: VideoGenerateDependencies;
  logger: Pick<StageLogger, "warn">;
}): Promise<PosterOutcome> {
  try {
    return await posterFor(input);
  } catch (error) {
    const reason = describeFailure(error);
    input.logger.warn("no poster was made; the video is stored and the generation goes on", {
      generationId: input.generationId,
      reason,
    });
    return { posterKey: null, reason };
  }
}

async function posterFor(input: Parameters<typeof makeGenerationPoster>[0]): Promise<PosterOutcome> {
  const { generationId, sourceGenerationId, dependencies } = input;
  const { metadataStore, objectStore } = dependencies;
  const videoKey = videoKeyOfStorageUri(input.response.storage_uri);
  if (!videoKey) return { posterKey: null, reason: "the stored video's object key is unknown" };

  const source = sourceGenerationId ? await metadataStore.get(sourceGenerationId) : null;
  if (source?.posterKey && (await objectStore.exists(source.posterKey))) {
    await metadataStore.recordPoster(generationId, source.posterKey);
    return { posterKey: source.posterKey };
  }
  if (!dependencies.makePoster) {
    return { posterKey: null, reason: "ffmpeg is not available (FFMPEG_PATH, the system's, or npm's)" };
  }
  const stored = await storePoster({
    objectStore,
    makePoster: dependencies.makePoster,
    videoKey,
    signal: AbortSignal.timeout(POSTER_TIMEOUT_MS),
  });
  await metadataStore.recordPoster(generationId, stored.key);
  if (source && source.posterKey !== stored.key) {
    // The source shows the same video: it gets the poster too (an older record, or its poster was deleted).
    await metadataStore.recordPoster(source.generationId, stored.key).catch((error: unknown) =>
      input.logger.warn("the poster could not be recorded on the generation it was made for", {
        generationId: source.generationId,
        reason: describeFailure(error),
      }),
    );
  }
  return { posterKey: stored.key };
}

/** The response with a warning saying why it has no poster (the generation itself succeeded). */
export function withPosterWarning(response: VideoGenerateResponse, reason: string): VideoGenerateResponse {
  return {
    ...response,
    warnings: [
      ...response.warnings,
      { field: "poster", requested: null, applied: null, reason: `no poster was made: ${reason}` },
    ],
  };
}

function describeFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > REASON_MAX_LENGTH ? `${oneLine.slice(0, REASON_MAX_LENGTH - 1)}…` : oneLine;
}
