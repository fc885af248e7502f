import type { CacheMode } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { instrumentMethods } from "./instrument-methods.ts";
import { CACHE_MODES, type StageMetrics } from "./stage-metrics.ts";

/**
 * The metadata store, counting generations started and finished from the database's own answer: a start when
 * `upsertGeneration` created or restarted the record, an ending when a terminal update (or `recordEarlyEnding`)
 * changed it. A step retry, a replayed run or a second worker repeating the same transition gets `refreshed` or
 * `false` back and counts nothing, so the sum of the counters over all workers counts each transition once.
 */
export function instrumentMetadataStore(store: MetadataStore, metrics: StageMetrics): MetadataStore {
  const counting: Partial<MetadataStore> = {
    async upsertGeneration(input) {
      const outcome = await store.upsertGeneration(input);
      if (outcome !== "refreshed") metrics.generationStarted(input.cacheMode);
      return outcome;
    },
    async recordEarlyEnding(input) {
      const written = await store.recordEarlyEnding(input);
      if (written) {
        // Created (or restarted) and ended at once: a start and an ending, so started minus finished stays in flight.
        metrics.generationStarted(cacheModeOf(input.request));
        metrics.generationFinished({ status: input.ending.status });
      }
      return written;
    },
    async recordSucceeded(generationId, response: VideoGenerateResponse) {
      const changed = await store.recordSucceeded(generationId, response);
      if (changed) metrics.generationFinished({ status: "succeeded", response });
      return changed;
    },
    async recordFailed(generationId, input) {
      const changed = await store.recordFailed(generationId, input);
      if (changed) metrics.generationFinished({ status: "failed" });
      return changed;
    },
    async recordCanceled(generationId, input) {
      const changed = await store.recordCanceled(generationId, input);
      if (changed) metrics.generationFinished({ status: "canceled" });
      return changed;
    },
  };
  const overrides = counting as Record<string, unknown>;
  return instrumentMethods(store, (name) => overrides[name] as ((...args: unknown[]) => unknown) | undefined);
}

/** The cache mode a request that ended early asked for (it may not have been valid): `use`, the default, otherwise. */
function cacheModeOf(request: Record<string, unknown>): CacheMode {
  const cache = request.cache;
  return CACHE_MODES.find((mode) => mode === cache) ?? "use";
}
