import type { WanResolution } from "../contract/wan-model.ts";
import type { RecordedRender } from "../metadata/generation-record.ts";
import { expectedRenderMs } from "./poll-schedule.ts";

export type { RecordedRender } from "../metadata/generation-record.ts";

/** Where the expected render time came from. */
export type RenderEstimateSource = "table" | "setting" | "learned";

export interface RenderEstimate {
  /** Expected render time for the poll schedule, ms. */
  expectedMs: number;
  source: RenderEstimateSource;
  /** Recorded renders the estimate rests on (0 unless learned). */
  samples: number;
}

/** Renders of the same tier and duration bucket needed before they replace the prior. */
export const MIN_LEARNING_SAMPLES = 3;
/** Only the most recent renders count: the service's speed drifts with its load. */
export const LEARNING_WINDOW = 20;
/** A learned estimate stays within this factor of the prior either way (a few absurd records cannot run away). */
const MAX_CORRECTION = 20;

/** Durations that render alike: short, medium and long clips. */
export function durationBucket(duration: number): "2-4 s" | "5-8 s" | "9-15 s" {
  return duration <= 4 ? "2-4 s" : duration <= 8 ? "5-8 s" : "9-15 s";
}

function median(sorted: number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The render time the poll schedule expects for one request: learned from this deployment's own recorded renders of
 * the same tier and duration bucket once there are `MIN_LEARNING_SAMPLES`, otherwise the prior (the table by duration
 * and tier, or `VIDEO_GEN_RENDER_ESTIMATE_S`, which seeds the learning rather than fixing the estimate).
 *
 * The statistic is the median of the recent renders' ratios to their own prior, applied to this request's prior: the
 * median ignores the odd stalled or instant task, and the ratio lets a 3 s and a 4 s clip of one bucket inform each
 * other. Pure: the caller reads the records inside a step, so a replay sleeps exactly as the first execution did.
 */
export function estimateRenderMs(input: {
  duration: number;
  resolution: WanResolution;
  /** VIDEO_GEN_RENDER_ESTIMATE_S, when set. */
  seedSeconds: number | undefined;
  /** Recorded renders, newest first; those of other tiers or buckets are ignored. */
  recent: readonly RecordedRender[];
}): RenderEstimate {
  const prior = (duration: number, resolution: WanResolution) =>
    expectedRenderMs({ duration, resolution, overrideSeconds: input.seedSeconds });
  const bucket = durationBucket(input.duration);
  const ratios = input.recent
    .filter(
      (render) =>
        render.resolution === input.resolution &&
        durationBucket(render.duration) === bucket &&
        Number.isFinite(render.renderMs) &&
        render.renderMs > 0,
    )
    .slice(0, LEARNING_WINDOW)
    .map((render) => render.renderMs / prior(render.duration, render.resolution))
    .sort((a, b) => a - b);
  const base = prior(input.duration, input.resolution);
  if (ratios.length < MIN_LEARNING_SAMPLES) {
    return { expectedMs: base, source: input.seedSeconds === undefined ? "table" : "setting", samples: 0 };
  }
  const correction = Math.min(MAX_CORRECTION, Math.max(1 / MAX_CORRECTION, median(ratios)));
  return { expectedMs: Math.round(base * correction), source: "learned", samples: ratios.length };
}
