/**
 * The stage's error family. Every error says whether retrying the same call can succeed (`retryable`) and
 * carries a stable `code` that reaches the metadata record, the `failed` event and the CLI's exit code.
 * Messages never contain secrets: API keys and signed query strings are stripped before an error is built.
 */
export type ErrorCategory =
  /** Bad request data; fixing the request is the only remedy. Never retried. */
  | "input"
  /** Missing or contradictory settings. Never retried. */
  | "configuration"
  /** The provider refused or failed (throttling, outage, rejection, task failure). */
  | "provider"
  /** Object storage or metadata storage failed. Usually retried. */
  | "storage"
  /** The run was canceled or passed its deadline. */
  | "canceled"
  | "timeout";

export interface VideoGenerationErrorOptions {
  /** Stable machine-readable code, e.g. `invalid_input`, `Throttling.RateQuota`, `storage_unavailable`. */
  code: string;
  /** Whether the same call may succeed if repeated. */
  retryable: boolean;
  /** Suggested wait before a retry, in milliseconds (throttling). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class VideoGenerationError extends Error {
  override name = "VideoGenerationError";
  readonly category: ErrorCategory;
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(category: ErrorCategory, message: string, options: VideoGenerationErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = category;
    this.code = options.code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Duck-typed check that also recognises errors rebuilt from a serialized form (name and fields preserved). */
export function isVideoGenerationError(error: unknown): error is VideoGenerationError {
  return error instanceof VideoGenerationError;
}
