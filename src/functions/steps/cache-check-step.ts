import type { VideoGenerateResponse } from "../../contract/video-generate-response.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/**
 * Step `cache-check`: a succeeded generation with this cache key whose object still exists answers without any
 * provider call. A record whose object is gone is a miss (self-healing: this run writes the object again).
 */
export async function findCachedResult(input: {
  generationId: string;
  cacheKey: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<VideoGenerateResponse | null> {
  const { metadataStore, objectStore } = input.dependencies;
  await input.progress(input.generationId, "cache-check");
  const record = await metadataStore.findSucceededByCacheKey(input.cacheKey);
  if (!record?.result) return null;
  if (!(await objectStore.exists(`videos/${input.cacheKey}.mp4`))) return null;
  return record.result;
}

/** A stored result answering another request: the original's file and facts, with this request's id and warnings. */
export function answerFromStored(
  stored: VideoGenerateResponse,
  generationId: string,
  warnings: VideoGenerateResponse["warnings"],
): VideoGenerateResponse {
  return {
    ...stored,
    generation_id: generationId,
    cache_hit: true,
    warnings,
    cost_estimate: { currency: stored.cost_estimate.currency, amount: 0 },
    timings: { queued_ms: null, render_ms: null, copy_ms: null, total_ms: null },
  };
}
