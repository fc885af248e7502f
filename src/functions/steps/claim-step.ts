import type { VideoGenerateResponse } from "../../contract/video-generate-response.ts";
import type { ClaimResult, GenerationStatus } from "../../metadata/generation-record.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { ensureNotCanceled } from "./ensure-not-canceled.ts";
import type { ResolvedGeneration } from "./resolve-image-step.ts";

/**
 * Step `claim` (`claim-1`, … on later rounds): makes this generation the one that submits for its cache key, or
 * attaches it to the identical generation already in flight.
 */
export async function claimCacheKey(input: {
  generationId: string;
  resolved: ResolvedGeneration;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<ClaimResult> {
  await input.progress(input.generationId, "claim");
  return input.dependencies.metadataStore.claim({
    generationId: input.generationId,
    cacheKey: input.resolved.cacheKey,
    imageSha256: input.resolved.imageSha256,
    warnings: input.resolved.warnings,
  });
}

/** How the identical generation this one waits for stands. */
export interface IdenticalGenerationState {
  status: GenerationStatus;
  /** Its response once it succeeded. */
  result: VideoGenerateResponse | null;
  /** When the check ran, ISO 8601 (absent in runs checked before it was kept). */
  checkedAt?: string;
}

/**
 * Step `duplicate-check-<n>`: reads the owner's record (no provider call). A waiter canceled meanwhile stops here.
 */
export async function checkIdenticalGeneration(input: {
  generationId: string;
  owner: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<IdenticalGenerationState> {
  const { metadataStore } = input.dependencies;
  ensureNotCanceled(await metadataStore.get(input.generationId), input.generationId);
  const record = await metadataStore.get(input.owner);
  await input.progress(input.generationId, "waiting-for-duplicate", {
    providerStatus: record?.providerStatus ?? undefined,
  });
  // A record that vanished cannot answer: treated like a failed owner, so this generation claims the key itself.
  return {
    status: record?.status ?? "failed",
    result: record?.result ?? null,
    checkedAt: input.dependencies.now().toISOString(),
  };
}
