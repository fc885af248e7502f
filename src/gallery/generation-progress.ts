import { resolutionForSize, WAN_DURATION_SECONDS, type WanResolution } from "../contract/wan-model.ts";
import type { GenerationRecord } from "../metadata/generation-record.ts";
import { TERMINAL_STATUSES } from "../metadata/generation-record.ts";

/**
 * Where an in-flight generation stands, estimated: the provider reports no percentage, so the render's share is the
 * elapsed time over the expected render time (the same estimate the poll schedule uses), capped short of done until
 * the record says so.
 */
export interface ProgressEstimate {
  /** 0..1. */
  fraction: number;
  /** Seconds until the result is expected; null when nothing is known (queued behind others). */
  eta_seconds: number | null;
  /** 1-based place in the queue for a budget slot, when waiting for one. */
  queue_position: number | null;
  /** Generations in that queue. */
  queue_length: number | null;
  /** The bar's label, e.g. `rendering · 42 % · about 30 s left` (the page's script shows it as the JSON says). */
  text: string;
}

/** Share of the bar each phase ends at: most of the time goes to the render. */
const PHASE_END = { queued: 0.05, submitted: 0.1, rendered: 0.9, copied: 0.97 } as const;
/** Copy and poster after the render, a rough constant for the ETA, ms. */
const AFTER_RENDER_MS = 5_000;

/** The tier and length a request asks for (defaults as the request schema has them). */
export function requestedRender(request: Record<string, unknown>): {
  resolution: WanResolution;
  duration: number;
} {
  const duration = typeof request.duration === "number" ? request.duration : WAN_DURATION_SECONDS.default;
  const size = typeof request.size === "string" ? /^(\d+)[*x](\d+)$/i.exec(request.size) : null;
  const resolution = size ? resolutionForSize(Number(size[1]), Number(size[2])) : "720P";
  return { resolution, duration };
}

function estimateFraction(input: {
  record: GenerationRecord;
  /** Expected render time for this request, ms. */
  expectedRenderMs: number;
  queue: { position: number; waiting: number } | undefined;
  now: Date;
}): Omit<ProgressEstimate, "text"> | null {
  const { record, expectedRenderMs, queue, now } = input;
  if (TERMINAL_STATUSES.includes(record.status)) return null;
  const queued = { queue_position: queue?.position ?? null, queue_length: queue?.waiting ?? null };
  if (record.status === "copying" || record.stage === "copy" || record.stage === "persist") {
    return { fraction: PHASE_END.rendered, eta_seconds: Math.ceil(AFTER_RENDER_MS / 1000), ...queued };
  }
  if (record.status === "submitted" && record.submittedAt) {
    const elapsed = Math.max(0, now.getTime() - Date.parse(record.submittedAt));
    const share = Math.min(0.98, elapsed / Math.max(1, expectedRenderMs));
    const fraction = PHASE_END.submitted + (PHASE_END.rendered - PHASE_END.submitted) * share;
    const remaining = Math.max(0, expectedRenderMs - elapsed) + AFTER_RENDER_MS;
    return { fraction: round(fraction), eta_seconds: Math.ceil(remaining / 1000), ...queued };
  }
  // Validated, waiting for a slot or for an identical generation: no estimate of when the render starts.
  const waiting = record.stage === "waiting-for-slot" || record.status === "attached";
  return {
    fraction: waiting ? PHASE_END.queued : PHASE_END.queued / 2,
    eta_seconds: waiting ? null : Math.ceil((expectedRenderMs + AFTER_RENDER_MS) / 1000),
    ...queued,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The estimate with its label, or null for a generation that has ended. */
export function estimateProgress(input: Parameters<typeof estimateFraction>[0]): ProgressEstimate | null {
  const estimate = estimateFraction(input);
  if (!estimate) return null;
  const parts = [input.record.stage, `${Math.round(estimate.fraction * 100)} %`];
  if (estimate.queue_position !== null)
    parts.push(`queue ${estimate.queue_position} of ${estimate.queue_length ?? "?"}`);
  if (estimate.eta_seconds !== null) parts.push(`about ${estimate.eta_seconds} s left`);
  return { ...estimate, text: parts.join(" · ") };
}
