import { z } from "zod";

export const generationWarningSchema = z.object({
  field: z.string(),
  requested: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  applied: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  reason: z.string(),
});

/**
 * The result of one generation: the function's return value and the `video/generation.completed` event's data.
 * Every media fact (duration, fps, width, height, bytes, sha256) is measured from the stored file, not taken from
 * the request or the provider.
 */
export const videoGenerateResponseSchema = z.object({
  /** The generation's id (the client's `generation_id`, or one the stage made). */
  generation_id: z.string(),
  /** Durable URL of the stored MP4 (S3_PUBLIC_BASE_URL + key, the bucket URL, or a file:// URL). Never the provider's 24 h link. */
  video_url: z.string(),
  /** Where the object lives: `s3://bucket/key` or `file:///abs/path`. */
  storage_uri: z.string(),
  /** Measured duration in seconds. */
  duration: z.number(),
  /** Measured frames per second. */
  fps: z.number(),
  /** Measured frame width and height in pixels. */
  width: z.number().int(),
  height: z.number().int(),
  /** Size of the stored file in bytes. */
  bytes: z.number().int(),
  /** sha256 of the stored file, hex. */
  sha256: z.string(),
  content_type: z.string(),
  /** Whether the stored file has an audio track. */
  has_audio: z.boolean(),
  /** The seed used (the request's, or the one the stage derived). */
  seed: z.number().int(),
  /** The provider task that rendered the video. */
  task_id: z.string(),
  /** Always `wan2.6-i2v-flash`. */
  model: z.string(),
  /** True when the result came from the cache or from an identical generation in flight. */
  cache_hit: z.boolean(),
  /** Differences between the request and the stored file. */
  warnings: z.array(generationWarningSchema),
  /** The provider's usage record, as reported (billed seconds, tier, audio). */
  usage: z.record(z.string(), z.json()).nullable(),
  /** seconds x tier x audio, from the configured price table. */
  cost_estimate: z.object({ currency: z.string(), amount: z.number() }),
  /** Milliseconds spent queued at the provider, rendering, copying, and in total (request to result). */
  timings: z.object({
    queued_ms: z.number().nullable(),
    render_ms: z.number().nullable(),
    copy_ms: z.number().nullable(),
    total_ms: z.number().nullable(),
  }),
});

export type VideoGenerateResponse = z.infer<typeof videoGenerateResponseSchema>;
