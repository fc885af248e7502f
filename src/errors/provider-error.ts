import { VideoGenerationError } from "./video-generation-error.ts";

/**
 * How a provider failure should be handled:
 * - `throttled`: 429 quota or rate limit; retry after a backoff.
 * - `transient`: 5xx or a network failure on a call that is safe to repeat (status, cancel, list, upload).
 * - `ambiguous_submit`: the submit's outcome is unknown (timeout, reset or 5xx after the body was sent). The task may
 *   exist and be billed: reconcile with the task list before any resubmission, never resubmit blindly.
 * - `rejected`: 4xx for the request itself (invalid parameter, auth, access, billing). Never retried.
 * - `content_rejected`: moderation (`DataInspectionFailed`, `IPInfringementSuspect`). Never retried.
 * - `task_failed`: the task ended FAILED; carries the provider's code and message.
 * - `task_expired`: the task reports UNKNOWN (older than 24 h, or not of this account/region).
 * - `invalid_response`: a 2xx body that does not match the documented shape.
 */
export type ProviderErrorKind =
  | "throttled"
  | "transient"
  | "ambiguous_submit"
  | "rejected"
  | "content_rejected"
  | "task_failed"
  | "task_expired"
  | "invalid_response";

export interface ProviderErrorDetails {
  kind: ProviderErrorKind;
  /** The provider's code (e.g. `Throttling.RateQuota`) or a stage code when the provider gave none. */
  code: string;
  /** HTTP status, when a response arrived. */
  httpStatus?: number;
  /** The provider's `request_id`, for support tickets. */
  requestId?: string;
  /** Operation that failed, for messages: `submit`, `status`, `cancel`, `list`, `upload`. */
  operation?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set([
  "throttled",
  "transient",
  "ambiguous_submit",
]);

export class ProviderError extends VideoGenerationError {
  override name = "ProviderError";
  readonly kind: ProviderErrorKind;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly operation: string | undefined;

  constructor(message: string, details: ProviderErrorDetails) {
    super("provider", message, {
      code: details.code,
      retryable: RETRYABLE_KINDS.has(details.kind),
      retryAfterMs: details.retryAfterMs,
      cause: details.cause,
    });
    this.kind = details.kind;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.operation = details.operation;
  }
}
