import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { CacheMode } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type {
  GenerationRecord,
  GenerationStage,
  GenerationStatus,
  ImageDelivery,
  SubmitState,
} from "./generation-record.ts";

/**
 * The columns of the generations table that make a {@link GenerationRecord}, for `SELECT ${RECORD_COLUMNS} FROM
 * generations`. Shared by the store and the gallery queries so both read a record the same way.
 */
export const RECORD_COLUMNS = `generation_id, cache_key, cache_mode, status, stage, provider_status, request, warnings, provider,
  model, task_id, provider_request_id, attached_to, submit_state, submit_attempted_at, image_delivery, image_sha256,
  correlation, run_id,
  created_at, updated_at, submitted_at, completed_at, result, error_code, error_message, poster_key, image_key`;

/** A timestamptz as a driver returns it. */
export type Timestamp = Date | string | null;

/** One row of {@link RECORD_COLUMNS} as the drivers return it. */
export interface GenerationRow {
  generation_id: string;
  cache_key: string | null;
  cache_mode: CacheMode;
  status: GenerationStatus;
  stage: GenerationStage;
  provider_status: string | null;
  request: Record<string, unknown>;
  warnings: GenerationWarning[];
  provider: string;
  model: string;
  task_id: string | null;
  provider_request_id: string | null;
  attached_to: string | null;
  submit_state: SubmitState;
  submit_attempted_at: Timestamp;
  image_delivery: ImageDelivery | null;
  image_sha256: string | null;
  correlation: Record<string, unknown> | null;
  run_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  submitted_at: Timestamp;
  completed_at: Timestamp;
  result: VideoGenerateResponse | null;
  error_code: string | null;
  error_message: string | null;
  poster_key: string | null;
  image_key: string | null;
}

/** A row of {@link RECORD_COLUMNS} as the record callers see. */
export function toRecord(row: GenerationRow): GenerationRecord {
  return {
    generationId: row.generation_id,
    cacheKey: row.cache_key,
    cacheMode: row.cache_mode,
    status: row.status,
    stage: row.stage,
    providerStatus: row.provider_status,
    request: row.request,
    warnings: row.warnings,
    provider: row.provider,
    model: row.model,
    taskId: row.task_id,
    providerRequestId: row.provider_request_id,
    attachedTo: row.attached_to,
    submitState: row.submit_state,
    submitAttemptedAt: toIso(row.submit_attempted_at),
    imageDelivery: row.image_delivery,
    imageSha256: row.image_sha256,
    correlation: row.correlation,
    runId: row.run_id,
    createdAt: toIso(row.created_at) ?? "",
    updatedAt: toIso(row.updated_at) ?? "",
    submittedAt: toIso(row.submitted_at),
    completedAt: toIso(row.completed_at),
    result: row.result,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    posterKey: row.poster_key,
    imageKey: row.image_key,
  };
}

/** Both drivers return timestamptz as Date; the string branch keeps custom type parsers working. */
export function toIso(value: Timestamp): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
