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

export const EVENT_NAMES = {
  requested: "video/generation.requested",
  completed: "video/generation.completed",
  failed: "video/generation.failed",
  canceled: "video/generation.canceled",
  cancelRequested: "video/generation.cancel-requested",
} as const;
