import { eventType } from "inngest";
import { z } from "zod";
import { videoGenerateRequestSchema } from "../contract/video-generate-request.ts";
import { videoGenerateResponseSchema } from "../contract/video-generate-response.ts";

/** Correlation object passed through untouched from the request to the completion events. */
const correlationSchema = z.record(z.string(), z.json()).nullable();

/** A pipeline asks for a video. The data is the normalized request (snake_case). */
export const videoGenerationRequested = eventType("video/generation.requested", {
  schema: videoGenerateRequestSchema,
});

/** A video is stored and recorded. The data is the response plus the request's correlation. */
export const videoGenerationCompleted = eventType("video/generation.completed", {
  schema: videoGenerateResponseSchema.extend({ correlation: correlationSchema }),
});

/** A generation failed for good. `error.code` is stable (see docs/errors.md). */
export const videoGenerationFailed = eventType("video/generation.failed", {
  schema: z.object({
    generation_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }),
    task_id: z.string().nullable(),
    correlation: correlationSchema,
  }),
});

/** A generation was canceled on request. */
export const videoGenerationCanceled = eventType("video/generation.canceled", {
  schema: z.object({
    generation_id: z.string(),
    task_id: z.string().nullable(),
    /** Whether the provider task was canceled too (only possible while it is PENDING; a RUNNING task completes and is billed). */
    provider_task_canceled: z.boolean(),
    reason: z.string(),
    correlation: correlationSchema,
  }),
});

/** Command: cancel the generation with this id (matched on `generation_id`). */
export const videoGenerationCancelRequested = eventType("video/generation.cancel-requested", {
  schema: z.object({ generation_id: z.string().min(1), reason: z.string().max(500).optional() }),
});

/**
 * Internal: every ending of a generation (succeeded, failed, canceled), sent with the public event. Identical
 * requests attached to this generation wait for it (one event name for all three endings).
 */
export const videoGenerationSettled = eventType("video/generation.settled", {
  schema: z.object({ generation_id: z.string(), status: z.enum(["succeeded", "failed", "canceled"]) }),
});

/**
 * Internal: a freed budget slot was handed to this waiting generation; it wakes and takes it. Also sent to a waiting
 * generation canceled through its record, which wakes and ends.
 */
export const videoGenerationSlotGranted = eventType("video/generation.slot-granted", {
  schema: z.object({ generation_id: z.string() }),
});

/**
 * Internal: the provider task of this generation has ended, as a signal learned outside the run (the task watcher's
 * check or DashScope's completion push). The run's `wait-N` ends on it and `poll-N` checks the task at once; a lost or late signal costs
 * only latency, since the wait's timeout is the poll schedule's own delay.
 */
export const videoGenerationTaskEnded = eventType("video/generation.task-ended", {
  schema: z.object({
    generation_id: z.string(),
    task_id: z.string(),
    /** The ending as the signal reported it (SUCCEEDED, FAILED, CANCELED, UNKNOWN…); the check decides. */
    task_status: z.string(),
    /** Where the signal came from; `cancel` wakes a run canceled through its record, whose check then ends it. */
    source: z.enum(["push", "watcher", "cancel"]),
  }),
});

/**
 * Internal: starts the account-wide task watcher (`video-generate-watcher`) when none holds its lease: sent by a
 * run that has just submitted a task or whose fallback check found the watcher gone, and by a watcher continuing
 * in a fresh run. Any number of them start at most one watcher at a time.
 */
export const videoGenerationWatchRequested = eventType("video/generation.watch-requested", {
  schema: z.object({
    /** Why: `submit`, `fallback` (a run found no watcher) or `continue` (a watcher handing over to a fresh run). */
    reason: z.enum(["submit", "fallback", "continue"]),
    /** The run id of the watcher this one continues; it may take over that one's lease at once. */
    successor_of: z.string().optional(),
  }),
});

export const EVENT_NAMES = {
  requested: "video/generation.requested",
  completed: "video/generation.completed",
  failed: "video/generation.failed",
  canceled: "video/generation.canceled",
  cancelRequested: "video/generation.cancel-requested",
  settled: "video/generation.settled",
  slotGranted: "video/generation.slot-granted",
  taskEnded: "video/generation.task-ended",
  watchRequested: "video/generation.watch-requested",
} as const;

/** The event that starts a watcher when none is active (see `videoGenerationWatchRequested`). */
export function watchRequestedEvent(reason: "submit" | "fallback" | "continue", successorOf?: string) {
  return {
    name: EVENT_NAMES.watchRequested,
    data: successorOf === undefined ? { reason } : { reason, successor_of: successorOf },
  };
}

/** The internal `settled` event of a generation's ending. */
export function settledEvent(generationId: string, status: "succeeded" | "failed" | "canceled") {
  return { name: EVENT_NAMES.settled, data: { generation_id: generationId, status } };
}

/** One `slot-granted` event per waiter a freed slot was handed to. */
export function slotGrantedEvents(generationIds: readonly string[]) {
  return generationIds.map((generationId) => ({
    name: EVENT_NAMES.slotGranted,
    data: { generation_id: generationId },
  }));
}
