import { VideoGenerationError } from "./video-generation-error.ts";

/** A setting is missing or contradictory. The message names the variable or option to fix. Never retried. */
export class ConfigurationError extends VideoGenerationError {
  override name = "ConfigurationError";

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super("configuration", message, {
      code: options.code ?? "configuration_error",
      retryable: false,
      cause: options.cause,
    });
  }
}
