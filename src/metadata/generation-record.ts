import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { CacheMode } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type { WanResolution } from "../contract/wan-model.ts";

/**
 * Lifecycle of a generation record:
 * `pending` (validated, may hold the cache-key claim) → `submitted` (task id recorded) → `copying` → `succeeded`;
 * or `attached` (waiting on an identical generation in flight) → `succeeded`; or `failed` / `canceled` at any point.
 */
export type GenerationStatus =
  | "pending"
  | "submitted"
  | "copying"
  | "attached"
  | "succeeded"
  | "failed"
  | "canceled";

/** Statuses that hold the cache-key claim (at most one generation per cache key is in one of these). */
export const CLAIMING_STATUSES: readonly GenerationStatus[] = ["pending", "submitted", "copying"];

export const TERMINAL_STATUSES: readonly GenerationStatus[] = ["succeeded", "failed", "canceled"];

/** Finer-grained position in the function, for progress displays. */
export type GenerationStage =
  | "validate"
  | "resolve-image"
  | "cache-check"
  | "claim"
  | "waiting-for-slot"
  | "submit"
  | "rendering"
  | "waiting-for-duplicate"
  | "copy"
  | "persist"
  | "done";

/** Outcome of the submit call as recorded, so a retry knows whether the previous attempt may have created a task. */
export type SubmitState = "none" | "in_flight" | "rejected" | "accepted";

/** One row of the generations table. Times are ISO 8601 strings (UTC). */
export interface GenerationRecord {
  generationId: string;
  cacheKey: string | null;
  cacheMode: CacheMode;
  status: GenerationStatus;
  stage: GenerationStage;
  /** Last provider status seen (PENDING, RUNNING, SUCCEEDED, ...). */
  providerStatus: string | null;
  /** The request as received, with a data: URI reference image replaced by a short description. */
  request: Record<string, unknown>;
  warnings: GenerationWarning[];
  provider: string;
  model: string;
  taskId: string | null;
  providerRequestId: string | null;
  /** The generation this one waits on, when `attached`. */
  attachedTo: string | null;
  submitState: SubmitState;
  submitAttemptedAt: string | null;
  /** How the reference image reached the provider; null before the submit (or for a task adopted after a lost one). */
  imageDelivery: ImageDelivery | null;
  imageSha256: string | null;
  correlation: Record<string, unknown> | null;
  /** The Inngest run id (or the in-process runner's id). */
  runId: string | null;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  completedAt: string | null;
  /** The full response once succeeded. */
  result: VideoGenerateResponse | null;
  errorCode: string | null;
  errorMessage: string | null;
  /**
   * Object key of the poster beside the video (`posters/<video base name>.webp`, `.jpg` from an ffmpeg without
   * WebP), in the same store; null until one is made (older records: `video-gen posters --backfill`).
   */
  posterKey: string | null;
  /** Object key of the stored copy of the reference image (`images/<sha256>.<ext>`); null before it is stored. */
  imageKey: string | null;
}

/** How the reference image reached the provider (VIDEO_GEN_IMAGE_DELIVERY). */
export type ImageDelivery = "url" | "presigned" | "data-uri" | "upload";

/** What is recorded with the task id. */
export interface SubmittedTaskFacts {
  taskId: string;
  providerRequestId?: string;
  /** The tier and length asked for (kept for the learned render time). */
  resolution?: string;
  duration?: number;
  imageDelivery?: ImageDelivery;
}

/** Result of claiming a cache key. */
export type ClaimResult =
  /** This generation holds the key (also when it already did: claiming is idempotent). */
  | { outcome: "claimed" }
  /** Another generation holds the key; this one is now `attached` to it. */
  | { outcome: "attached"; owner: { generationId: string; taskId: string | null; status: GenerationStatus } };

/** Filters of `list`. */
export interface ListFilter {
  status?: GenerationStatus;
  /** Only records created at or after this time. */
  since?: Date;
  /** Only records whose correlation object has this key with this (string) value. */
  correlation?: { key: string; value: string };
  /** Newest first; default 50, at most 1000. */
  limit?: number;
}

export interface Totals {
  count: number;
  succeeded: number;
  failed: number;
  canceled: number;
  /** Sum of measured durations of succeeded generations that were not cache hits. */
  videoSeconds: number;
  /** Sum of cost estimates of succeeded generations that were not cache hits, per currency. */
  cost: Array<{ currency: string; amount: number }>;
}

/** How a budget slot is asked for. */
export interface SlotOptions {
  /** Provider tasks in flight at once, account-wide (VIDEO_GEN_BUDGET). */
  limit: number;
  /** Lease of a taken slot, ms; renewed at every status check, so it only runs out when a run has died. */
  leaseMs: number;
  /** A waiter that has not asked again for this long is taken for dead and loses its place, ms. */
  staleWaiterMs: number;
}

/** How freed slots are handed to waiters. */
export interface SlotHandOver {
  limit: number;
  /** Lease of a handed-over slot until its waiter takes it, ms; after it the slot is free for anyone. */
  grantLeaseMs: number;
  staleWaiterMs: number;
}

/** The answer to asking for a budget slot. */
export type SlotRequest =
  | { acquired: true }
  | {
      acquired: false;
      /** 1-based place in the queue of waiters, oldest first. */
      position: number;
      /** Waiters in the queue, this one included. */
      waiting: number;
    };

/** A render this deployment finished, as its record keeps it (what the poll schedule learns render times from). */
export interface RecordedRender {
  /** Requested length, whole seconds. */
  duration: number;
  resolution: WanResolution;
  /** Provider time from scheduled to end (the render itself, without queueing), ms. */
  renderMs: number;
}
