import type { SlotRequest } from "../../metadata/generation-record.ts";
import { providerBudget } from "../provider-budget.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { ensureNotCanceled } from "./ensure-not-canceled.ts";

/** What `slot-<n>` hands back: the answer, and how long this generation has been queued. */
export type SlotCheck = SlotRequest & {
  /** When the check ran, ISO 8601. */
  checkedAt: string;
  /** Time queued so far (since the first check that found no slot), ms. */
  waitedMs: number;
};

/**
 * Step `slot-<n>`: asks for a slot of the account-wide in-flight budget, held in the metadata store across sleeps
 * (Inngest's concurrency does not count sleeping runs). Without a free slot the generation keeps its place in the
 * queue; a freed slot is handed to the oldest waiter, which is woken by `video/generation.slot-granted`.
 */
export async function requestSlot(input: {
  generationId: string;
  /** When the first check found no slot, ISO 8601; undefined on the first check. */
  queuedSince: string | undefined;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<SlotCheck> {
  const { generationId, dependencies } = input;
  ensureNotCanceled(await dependencies.metadataStore.get(generationId), generationId);
  const answer = await providerBudget(dependencies).acquire(generationId);
  if (!answer.acquired) await input.progress(generationId, "waiting-for-slot");
  const checkedAt = dependencies.now();
  const waitedMs = input.queuedSince === undefined ? 0 : checkedAt.getTime() - Date.parse(input.queuedSince);
  return { ...answer, checkedAt: checkedAt.toISOString(), waitedMs };
}
