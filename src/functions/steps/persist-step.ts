import type { VideoGenerateResponse } from "../../contract/video-generate-response.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { slotHandOver } from "../wait-schedule.ts";

/**
 * Step `persist`: the final record with the total time. The budget slot is released again (idempotent) in case a
 * poll step did not get to it; a slot freed here is handed over too, and its waiter finds it at its next check.
 */
export async function persistResult(input: {
  generationId: string;
  response: VideoGenerateResponse;
  /** When validation ran, ISO 8601. */
  requestedAt: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<VideoGenerateResponse> {
  const { generationId, dependencies } = input;
  const response: VideoGenerateResponse = {
    ...input.response,
    timings: {
      ...input.response.timings,
      total_ms: Math.max(0, dependencies.now().getTime() - Date.parse(input.requestedAt)),
    },
  };
  await dependencies.metadataStore.recordSucceeded(generationId, response);
  await dependencies.metadataStore.releaseSlot(generationId, slotHandOver(dependencies.settings));
  await input.progress(generationId, "done", { progress: 1 });
  return response;
}
