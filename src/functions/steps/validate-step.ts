import { type GenerationPlan, planGeneration } from "../../contract/plan-generation.ts";
import { CORRELATION_MAX_BYTES, type VideoGenerateRequest } from "../../contract/video-generate-request.ts";
import { VideoGenerationError } from "../../errors/video-generation-error.ts";
import { redactUrl } from "../../net/redact.ts";
import type { RecordProgress } from "../record-progress.ts";
import { describeRequestForRecord, describeUnvalidatedRequest } from "../record-request.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { requestOfEvent } from "./event-request.ts";

/** The correlation of a request that failed validation, if it is itself acceptable: the `failed` event carries it. */
function usableCorrelation(request: unknown): Record<string, unknown> | null {
  const correlation = (request as { correlation?: unknown } | null)?.correlation;
  if (!correlation || typeof correlation !== "object" || Array.isArray(correlation)) return null;
  const json = JSON.stringify(correlation);
  return Buffer.byteLength(json) <= CORRELATION_MAX_BYTES && !json.includes("\\u0000")
    ? (correlation as Record<string, unknown>)
    : null;
}

/** What `validate` hands to the later steps (JSON, small, no secret). */
export interface ValidatedGeneration {
  generationId: string;
  /**
   * The plan. Its `request.reference_image`, `request.audio_url` and `provider.audioUrl` are shown redacted: a data:
   * URI can be megabytes and a presigned URL is a secret; the steps that send them read them from the event
   * (`sensitiveRequestValues`).
   */
  plan: GenerationPlan;
  /** When validation ran, ISO 8601. */
  requestedAt: string;
}

/**
 * Step `validate`: the request schema and the unsupported-feature policy, then the record. A request that fails
 * validation is recorded as failed (under its own generation id when it named a valid one) before the error ends
 * the run, so `video-gen show` and the `failed` event tell the sender which field to fix.
 */
export async function validateGeneration(input: {
  eventData: unknown;
  generationId: string;
  runId: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<ValidatedGeneration> {
  const { generationId, dependencies } = input;
  const { metadataStore, provider, settings } = dependencies;
  const request = requestOfEvent(input.eventData);
  let plan: GenerationPlan;
  try {
    plan = planGeneration(request, {
      defaultPolicy: settings.defaultPolicy,
      ffmpegAvailable: dependencies.copyConformed !== undefined,
    });
  } catch (error) {
    if (error instanceof VideoGenerationError) {
      await metadataStore.recordEarlyEnding({
        generationId,
        request: describeUnvalidatedRequest(request),
        correlation: usableCorrelation(request),
        runId: input.runId,
        provider: provider.name,
        model: provider.model,
        ending: { status: "failed", code: error.code, message: error.message },
      });
    }
    throw error;
  }
  const recorded = describeRequestForRecord(plan.request);
  await metadataStore.upsertGeneration({
    generationId,
    request: recorded,
    cacheMode: plan.cacheMode,
    provider: provider.name,
    model: provider.model,
    correlation: plan.request.correlation ?? null,
    runId: input.runId,
  });
  await input.progress(generationId, "validate");
  const providerParameters =
    plan.provider.audioUrl === undefined
      ? plan.provider
      : { ...plan.provider, audioUrl: redactUrl(plan.provider.audioUrl) };
  return {
    generationId,
    plan: { ...plan, request: recorded as VideoGenerateRequest, provider: providerParameters },
    requestedAt: dependencies.now().toISOString(),
  };
}
