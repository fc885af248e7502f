import { ConfigurationError } from "../errors/configuration-error.ts";
import { ProviderError } from "../errors/provider-error.ts";
import type { ProviderCallOutcome } from "./stage-metrics.ts";

/**
 * The outcome label of a failed provider call, from the error family of src/errors: a provider client reports every
 * failure as a ProviderError of a known kind, and a rejected API key as a ConfigurationError. `aborted` is the
 * stage's own doing (its signal fired), whatever error the abort surfaced as.
 */
export function providerCallOutcome(
  error: unknown,
  options: { aborted?: boolean } = {},
): ProviderCallOutcome {
  if (options.aborted || isAbort(error)) return "aborted";
  if (error instanceof ConfigurationError) return "auth_error";
  if (!(error instanceof ProviderError)) return "other";
  switch (error.kind) {
    case "throttled":
      return "throttled";
    case "rejected":
      return error.httpStatus === 401 ? "auth_error" : "client_error";
    case "content_rejected":
      return "content_rejected";
    case "transient":
    case "ambiguous_submit":
      // An HTTP status means the provider answered (5xx, or a server error code in a 2xx); none means the network failed.
      return error.httpStatus === undefined ? "network_error" : "server_error";
    case "invalid_response":
      return "invalid_response";
    default:
      // task_failed / task_expired describe a task, not a call; a client does not throw them for a call.
      return "other";
  }
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "AbortError";
}
