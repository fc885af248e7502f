import { estimateCost, type PriceTable } from "../contract/cost-estimate.ts";
import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { GenerationPlan } from "../contract/plan-generation.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type { ProviderUsage } from "../providers/provider.ts";
import type { StoredVideo } from "../storage/object-store.ts";

const millisecondsBetween = (from: string | undefined, to: string | undefined) =>
  from && to ? Math.max(0, Date.parse(to) - Date.parse(from)) : null;

/**
 * The response of design.md section 2 for a fresh render: every media fact measured from the stored file, the cost
 * from the provider's billed seconds (or the measured duration when it reports none). `total_ms` is filled in by
 * the persist step.
 */
export function buildResponse(input: {
  generationId: string;
  plan: GenerationPlan;
  seed: number;
  warnings: GenerationWarning[];
  taskId: string;
  model: string;
  submittedAt: string;
  scheduledAt: string | undefined;
  endedAt: string | undefined;
  copyMs: number;
  stored: StoredVideo;
  usage: ProviderUsage | null;
  prices: PriceTable;
}): VideoGenerateResponse {
  const { stored, plan } = input;
  const media = stored.media;
  return {
    generation_id: input.generationId,
    video_url: stored.url,
    storage_uri: stored.uri,
    duration: media.durationSeconds,
    fps: media.fps,
    width: media.width,
    height: media.height,
    bytes: stored.bytes,
    sha256: stored.sha256,
    content_type: stored.contentType,
    has_audio: media.hasAudio,
    seed: input.seed,
    task_id: input.taskId,
    model: input.model,
    cache_hit: false,
    warnings: input.warnings,
    usage: input.usage ? (input.usage.raw as VideoGenerateResponse["usage"]) : null,
    cost_estimate: estimateCost(
      input.prices,
      plan.provider.resolution,
      plan.provider.audio,
      input.usage?.duration ?? media.durationSeconds,
    ),
    timings: {
      queued_ms: millisecondsBetween(input.submittedAt, input.scheduledAt),
      render_ms: millisecondsBetween(input.scheduledAt, input.endedAt),
      copy_ms: input.copyMs,
      total_ms: null,
    },
  };
}
