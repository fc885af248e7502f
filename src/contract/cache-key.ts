import { createHash } from "node:crypto";
import type { GenerationPlan } from "./plan-generation.ts";
import { WAN_MODEL, WAN_SEED_RANGE } from "./wan-model.ts";

/**
 * The content address of a generation: sha256 of the canonical JSON (sorted keys) of everything that shapes the output,
 * including the sha256 of the image bytes actually submitted (after a conform crop). Two requests with the same key
 * are the same generation, so the second is answered from the first one's stored video.
 */
export function computeCacheKey(plan: GenerationPlan, submittedImageSha256: string): string {
  const request = plan.request;
  const material = {
    model: WAN_MODEL,
    prompt: request.prompt,
    negative_prompt: request.negative_prompt ?? null,
    duration: plan.provider.duration,
    fps: request.fps ?? null,
    size: plan.requestedSize ? `${plan.requestedSize.width}*${plan.requestedSize.height}` : null,
    resolution: plan.provider.resolution,
    seed: request.seed ?? null,
    image_sha256: submittedImageSha256,
    motion_strength: request.motion_strength ?? null,
    audio: plan.provider.audio,
    audio_url: request.audio_url ?? null,
    prompt_extend: request.prompt_extend ?? null,
    shot_type: request.shot_type ?? null,
    watermark: request.watermark ?? null,
    policy: plan.policy,
  };
  // A flat object of primitives: sorted keys make JSON.stringify canonical (RFC 8785 for these values).
  const canonicalJson = JSON.stringify(material, Object.keys(material).sort());
  return createHash("sha256").update(canonicalJson).digest("hex");
}

/**
 * The seed used when the request names none: derived from the cache key, so identical requests use the same seed
 * and a replay submits exactly what the first run did.
 */
export function deriveSeed(cacheKey: string): number {
  return Number.parseInt(cacheKey.slice(0, 8), 16) % (WAN_SEED_RANGE.max + 1);
}
