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
 * terminal task states become `NonRetriableError`; throttling (and any error that says when to try again) becomes
 * `RetryAfterError` with that delay or a backoff; other retryable failures stay ordinary errors, which Inngest
 * retries with its own backoff. Unknown errors keep their class; every error loses its stack (`withoutStacks`).
 */
export function toInngestError(error: unknown, attempt: number): unknown {
  if (!(error instanceof VideoGenerationError)) return withoutStacks(error);
  const message = formatErrorMessage(error.code, error.message);
  let translated: Error;
  if (!error.retryable) translated = new NonRetriableError(message, { cause: error });
  else if (
    error.retryAfterMs !== undefined ||
    (error.category === "provider" && (error as { kind?: string }).kind === "throttled")
  ) {
    // Throttling, or an error that knows when trying again makes sense (a listing that may still be catching up).
    translated = new RetryAfterError(message, error.retryAfterMs ?? throttleBackoffMs(attempt), {
      cause: error,
    });
  } else {
    translated = new Error(message, { cause: error });
    translated.name = error.name;
  }
  return withoutStacks(translated);
}

/**
 * Inngest stores a step's error, stack and cause included, in the run's output, which every dashboard user and API
 * client reads: the worker's file paths and code layout stay in the worker's own log instead. Each error of the
 * cause chain keeps only its first line.
 */
export function withoutStacks<T>(error: T): T {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    current.stack = `${current.name}: ${current.message}`;
    current = current.cause;
  }
  return error;
}

/**
 * Wraps a step's body so that whatever it throws leaves through `toInngestError`, the one seam that decides what is
 * retried, and so that an unexpected error's stack reaches the worker's log (not the run's output).
 */
export function inStep<T>(
  context: { attempt: number; logger: { warn(message: string, fields?: Record<string, unknown>): void } },
  body: () => Promise<T>,
): () => Promise<T> {
  return async () => {
    try {
      return await body();
    } catch (error) {
      if (!(error instanceof VideoGenerationError) && error instanceof Error) {
        context.logger.warn("unexpected error in a step", { error: error.message, stack: error.stack });
      }
      throw toInngestError(error, context.attempt);
    }
  };
}
