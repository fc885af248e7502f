import { VideoGenerationError } from "../../errors/video-generation-error.ts";
import type { GenerationRecord } from "../../metadata/generation-record.ts";

/** The error that ends a run whose generation was canceled from elsewhere (its record says so). */
export function generationCanceledError(generationId: string): VideoGenerationError {
  return new VideoGenerationError("canceled", `generation ${generationId} was canceled`, {
    code: "canceled",
    retryable: false,
  });
}

/**
 * Stops a run whose generation was canceled while it waited or slept (`video-gen cancel`, the cancel event for an
 * id `cancelOn` cannot match): checked before anything billable and at every wake-up.
 */
export function ensureNotCanceled(record: GenerationRecord | null, generationId: string): void {
  if (record?.status === "canceled") throw generationCanceledError(generationId);
}
