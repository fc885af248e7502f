import type { ErrorCategory } from "../errors/video-generation-error.ts";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";

/** Exit codes of `video-gen`, stable for scripts. */
export const EXIT_CODES = {
  success: 0,
  /** Anything unexpected (a bug, an unknown failure). */
  internal: 1,
  /** The request is invalid; the message names the field. */
  input: 2,
  /** A setting is missing or contradictory; the message names the variable. */
  configuration: 3,
  /** The provider rejected the request, the task failed, or it did not finish in time. */
  provider: 4,
  /** Object storage, the metadata database or the result download failed. */
  storage: 5,
  /** Interrupted (SIGINT/SIGTERM) or canceled. 128 + SIGINT, as shells report it. */
  canceled: 130,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code for a generation that ended with an error of this category. */
export function exitCodeForCategory(category: ErrorCategory | "internal"): ExitCode {
  switch (category) {
    case "input":
      return EXIT_CODES.input;
    case "configuration":
      return EXIT_CODES.configuration;
    case "provider":
    case "timeout":
      return EXIT_CODES.provider;
    case "storage":
      return EXIT_CODES.storage;
    case "canceled":
      return EXIT_CODES.canceled;
    default:
      return EXIT_CODES.internal;
  }
}

/** The exit code for an error thrown before or around a run (configuration, a bad flag, an unreachable database). */
export function exitCodeForError(error: unknown): ExitCode {
  return isVideoGenerationError(error) ? exitCodeForCategory(error.category) : EXIT_CODES.internal;
}
