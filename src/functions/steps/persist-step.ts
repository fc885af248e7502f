import type { VideoGenerateResponse } from "../../contract/video-generate-response.ts";
import { providerBudget } from "../provider-budget.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/** What `persist` hands back: the response as recorded, and the waiters its release granted a slot to. */
export interface PersistedResult {
  response: VideoGenerateResponse;
  /** Generations woken next (`persist-handover`); empty when the poll step had already handed the slot over. */
  grantedTo: string[];
}

/**
 * Step `persist`: the final record with the total time. The budget slot is released again (idempotent) in case a
 * poll step did not get to it; a slot freed here is handed over too, and its waiters are announced by the step
 * `persist-handover` that follows, so that they start at once rather than at their fallback check.
 */
export async function persistResult(input: {
  generationId: string;
  response: VideoGenerateResponse;
  /** When validation ran, ISO 8601. */
  requestedAt: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<PersistedResult> {
  const { generationId, dependencies } = input;
  const response: VideoGenerateResponse = {
    ...input.response,
    timings: {
      ...input.response.timings,
      total_ms: Math.max(0, dependencies.now().getTime() - Date.parse(input.requestedAt)),
    },
  };
  await dependencies.metadataStore.recordSucceeded(generationId, response);
  const { grantedTo } = await providerBudget(dependencies).release(generationId);
  await input.progress(generationId, "done", { progress: 1 });
  return { response, grantedTo };
}

/**
 * The `persist` step's output, also as runs persisted before it carried the grants kept it in their memoized
 * steps (the bare response): those replay with no grants to announce, as they ran.
 */
export function persistedResult(output: PersistedResult | VideoGenerateResponse): PersistedResult {
  return "response" in output && Array.isArray((output as Partial<PersistedResult>).grantedTo)
    ? (output as PersistedResult)
    : { response: output as VideoGenerateResponse, grantedTo: [] };
}
