import { VideoGenerationError } from "./video-generation-error.ts";

/**
 * Object storage, the metadata database, or the download of a result failed.
 * Retryable unless the data itself is wrong (`retryable: false`, e.g. a body that is not an MP4, or a size over the cap).
 */
export class StorageError extends VideoGenerationError {
  override name = "StorageError";

  constructor(message: string, options: { code?: string; retryable?: boolean; cause?: unknown } = {}) {
    super("storage", message, {
      code: options.code ?? "storage_error",
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
  }
}
