import { ProviderError } from "../errors/provider-error.ts";
import { VideoGenerationError } from "../errors/video-generation-error.ts";
import type { CheckedStatus } from "./checked-status.ts";

/** A task that ended without a video, as the error that ends the run (never retried: resubmitting would bill again). */
export function terminalStatusError(taskId: string, status: CheckedStatus): VideoGenerationError {
  switch (status.status) {
    case "failed": {
      const code = status.code ?? "UnknownFailure";
      const contentRejected = code === "DataInspectionFailed" || code === "IPInfringementSuspect";
      return new ProviderError(`task ${taskId} failed: ${status.message ?? "no reason given"}`, {
        kind: contentRejected ? "content_rejected" : "task_failed",
        code,
        operation: "status",
      });
    }
    case "canceled":
      return new VideoGenerationError("canceled", `task ${taskId} was canceled`, {
        code: "task_canceled",
        retryable: false,
      });
    default:
      return new ProviderError(
        `task ${taskId} is UNKNOWN to the provider: expired (older than 24 h) or not of this account and region`,
        { kind: "task_expired", code: "task_expired", operation: "status" },
      );
  }
}
