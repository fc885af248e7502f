import { NonRetriableError, RetryAfterError } from "inngest";
import { VideoGenerationError } from "../errors/video-generation-error.ts";

/** Longest backoff after throttling: DashScope says a throttle "usually recovers within a minute". */
const MAX_THROTTLE_BACKOFF_MS = 60_000;

/**
 * Inngest serializes a step error to its name and message only, so the stable code travels at the front of the
 * message: `<code>: <text>`. `parseErrorCode` reads it back in `onFailure`, the CLI and the failed event.
 */
export function formatErrorMessage(code: string, message: string): string {
  return `${code}: ${message}`;
}

const CODE_PREFIX = /^([A-Za-z][\w.]*):\s([\s\S]*)$/;

export function parseErrorCode(message: string): { code: string; message: string } {
  const match = CODE_PREFIX.exec(message);
  return match ? { code: match[1]!, message: match[2]! } : { code: "internal_error", message };
}

/**
 * Exponential backoff for throttled calls: 2 s, 4 s, 8 s … capped at 60 s, with jitter so many runs that were
 * throttled together do not come back together. `attempt` is Inngest's zero-based attempt of the step.
 */
export function throttleBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_THROTTLE_BACKOFF_MS, 2000 * 2 ** attempt);
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * The one seam between the stage's error family and Inngest's retry control: inputs, configuration, rejections and
 * terminal task states become `NonRetriableError`; throttling becomes `RetryAfterError` with backoff; other retryable
 * failures stay ordinary errors, which Inngest retries with its own backoff. Unknown errors are left as they are.
 */
export function toInngestError(error: unknown, attempt: number): unknown {
  if (!(error instanceof VideoGenerationError)) return error;
  const message = formatErrorMessage(error.code, error.message);
  if (!error.retryable) return new NonRetriableError(message, { cause: error });
  if (error.category === "provider" && (error as { kind?: string }).kind === "throttled") {
    return new RetryAfterError(message, error.retryAfterMs ?? throttleBackoffMs(attempt), { cause: error });
  }
  const retryable = new Error(message, { cause: error });
  retryable.name = error.name;
  return retryable;
}
