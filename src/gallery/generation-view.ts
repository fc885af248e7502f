import type { GenerationRecord } from "../metadata/generation-record.ts";
import type { ProgressEstimate } from "./generation-progress.ts";

/**
 * One generation as the operator pages and the JSON API show it. Media are linked through this server
 * (`/media/<id>/…`); no presigned or provider URL appears here.
 */
export interface GenerationView {
  generation_id: string;
  status: GenerationRecord["status"];
  stage: GenerationRecord["stage"];
  provider_status: string | null;
  created_at: string;
  completed_at: string | null;
  prompt: string;
  negative_prompt: string | null;
  /** The seed used; the requested one before a result. */
  seed: number | null;
  /** Measured seconds once stored, the requested length before. */
  duration: number | null;
  /** Measured `W×H` once stored, the requested size before. */
  size: string | null;
  fps: number | null;
  bytes: number | null;
  cache_hit: boolean | null;
  cost_estimate: { currency: string; amount: number } | null;
  timings: {
    queued_ms: number | null;
    render_ms: number | null;
    copy_ms: number | null;
    total_ms: number | null;
  } | null;
  warnings: GenerationRecord["warnings"];
  model: string;
  task_id: string | null;
  provider_request_id: string | null;
  run_id: string | null;
  attached_to: string | null;
  correlation: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  /** The request as recorded (a data: URI image and URL query strings are not kept). */
  request: Record<string, unknown>;
  media: { video: string | null; poster: string | null; image: string | null };
  progress: ProgressEstimate | null;
}

/** The request fields worth comparing between takes, in display order. */
export const COMPARED_PARAMETERS = [
  "prompt",
  "negative_prompt",
  "seed",
  "duration",
  "size",
  "fps",
  "motion_strength",
  "audio",
  "prompt_extend",
  "shot_type",
  "watermark",
  "unsupported",
  "reference_image",
] as const;

export function toGenerationView(input: {
  record: GenerationRecord;
  /** The mount prefix of the media routes, e.g. "" or "/ops". */
  basePath: string;
  progress: ProgressEstimate | null;
  /** Whether the record has a stored video/poster/image the media routes can serve. */
  hasVideo: boolean;
  hasPoster: boolean;
  hasImage: boolean;
}): GenerationView {
  const { record, basePath } = input;
  const result = record.result;
  const request = record.request;
  const mediaBase = `${basePath}/media/${encodeURIComponent(record.generationId)}`;
  const requestedSeed = typeof request.seed === "number" ? request.seed : null;
  return {
    generation_id: record.generationId,
    status: record.status,
    stage: record.stage,
    provider_status: record.providerStatus,
    created_at: record.createdAt,
    completed_at: record.completedAt,
    prompt: typeof request.prompt === "string" ? request.prompt : "",
    negative_prompt: typeof request.negative_prompt === "string" ? request.negative_prompt : null,
    seed: result?.seed ?? requestedSeed,
    duration: result ? result.duration : typeof request.duration === "number" ? request.duration : null,
    size: result
      ? `${result.width}×${result.height}`
      : typeof request.size === "string"
        ? request.size
        : null,
    fps: result ? result.fps : typeof request.fps === "number" ? request.fps : null,
    bytes: result?.bytes ?? null,
    cache_hit: result ? result.cache_hit : null,
    cost_estimate: result?.cost_estimate ?? null,
    timings: result?.timings ?? null,
    warnings: record.warnings.length > 0 ? record.warnings : (result?.warnings ?? []),
    model: record.model,
    task_id: record.taskId ?? result?.task_id ?? null,
    provider_request_id: record.providerRequestId,
    run_id: record.runId,
    attached_to: record.attachedTo,
    correlation: record.correlation,
    error: record.errorCode ? { code: record.errorCode, message: record.errorMessage ?? "" } : null,
    request,
    media: {
      video: input.hasVideo ? `${mediaBase}/video.mp4` : null,
      poster: input.hasPoster ? `${mediaBase}/poster` : null,
      image: input.hasImage ? `${mediaBase}/image` : null,
    },
    progress: input.progress,
  };
}
