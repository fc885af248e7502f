import { StorageError } from "../errors/storage-error.ts";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";

/** Connection-level failures: the server is down, restarting, refusing connections, or the socket broke. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up or shutting down)
  "53300", // too_many_connections
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed/i;
/** Transient conflicts that succeed when repeated. */
const CONFLICT_CODES = new Set(["40001", "40P01", "55P03"]);

/**
 * Runs one metadata operation, turning a driver error into a StorageError: `database_unavailable` and
 * `database_conflict` are retryable, anything else is not. Errors of the stage's own family pass unchanged.
 */
export async function guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toStorageError(operation, error);
  }
}

/** The StorageError for a driver error raised during `operation`. */
export function toStorageError(operation: string, error: unknown): Error {
  if (isVideoGenerationError(error)) return error;
  const code =
    typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "";
  const message = error instanceof Error ? error.message : String(error);
  if (UNAVAILABLE_CODES.has(code) || code.startsWith("08") || UNAVAILABLE_MESSAGE.test(message)) {
    return new StorageError(`Metadata database unavailable during ${operation}: ${message}`, {
      code: "database_unavailable",
      retryable: true,
      cause: error,
    });
  }
  if (CONFLICT_CODES.has(code)) {
    return new StorageError(`Metadata ${operation} hit a concurrent update (${code}): ${message}`, {
      code: "database_conflict",
      retryable: true,
      cause: error,
    });
  }
  return new StorageError(`Metadata ${operation} failed${code ? ` (${code})` : ""}: ${message}`, {
    code: code === "23505" ? "constraint_violation" : "database_error",
    retryable: false,
    cause: error,
  });
}

/** Whether a driver error is a unique violation (23505) of the named constraint or unique index. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const details = error as { code?: unknown; constraint?: unknown };
  return details?.code === "23505" && details.constraint === constraint;
}
