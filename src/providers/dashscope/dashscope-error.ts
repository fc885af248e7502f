import { z } from "zod";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { ProviderError, type ProviderErrorKind } from "../../errors/provider-error.ts";
import { redactSecrets, redactUrl } from "../../net/redact.ts";
import { describeDashscopeRegion } from "./dashscope-credentials.ts";

/** The call that failed; `submit` is the only one that is not safe to repeat (it creates a billed task). */
export type DashscopeOperation = "submit" | "status" | "cancel" | "list" | "upload";

/**
 * DashScope's error body: `{"request_id","code","message"}` on any non-2xx (dashscope.md section 4). The SDK also
 * accepts `msg` for `message`; a defensive client treats a top-level `code` in a 2xx body the same way.
 */
export const dashscopeErrorBodySchema = z.object({
  code: z.string().nullish(),
  message: z.string().nullish(),
  msg: z.string().nullish(),
  request_id: z.string().nullish(),
});

/** What an error body says, whatever its form (JSON, the OSS upload host's XML, plain text). */
export interface DashscopeErrorBody {
  code?: string;
  message?: string;
  requestId?: string;
}

const THROTTLING_CODES: ReadonlySet<string> = new Set([
  "Throttling",
  "Throttling.RateQuota",
  "Throttling.BurstRate",
]);
/** 429s that are about money, not rate: waiting does not help. */
const BILLING_CODES: ReadonlySet<string> = new Set([
  "CommodityNotPurchased",
  "PrepaidBillOverdue",
  "PostpaidBillOverdue",
]);
const CONTENT_CODES: ReadonlySet<string> = new Set(["DataInspectionFailed", "IPInfringementSuspect"]);
/** Server-side codes; used to classify an error code that arrives in a 2xx body. */
const SERVER_CODES: ReadonlySet<string> = new Set([
  "InternalError",
  "InternalError.Algo",
  "InternalError.Timeout",
  "SystemError",
  "ModelServiceFailed",
  "ModelServingError",
  "ModelUnavailable",
]);
/** Free quota gone on a model without paid use: docs advise one retry after about a minute. */
const ALLOCATION_QUOTA_RETRY_MS = 60_000;

/**
 * Network failures where the request cannot have reached the server: repeating them is safe even for a submit.
 * Every other failure (reset, closed socket, header or body timeout) may have happened after the server read the body.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const URL_PATTERN = /\b(?:https?|oss):\/\/[^\s"'<>]+/gi;
const SIGNATURE_PATTERN = /Signature=[^&\s"'<>]*/gi;

/**
 * Makes provider text safe for messages: URLs lose their query (signed links), stray `Signature=` values and the
 * given secrets (API key, upload policy) are removed, and the text is capped.
 */
export function sanitizeDashscopeText(text: string, secrets: ReadonlyArray<string | undefined>): string {
  const redacted = redactSecrets(
    text.replace(URL_PATTERN, (url) => redactUrl(url)).replace(SIGNATURE_PATTERN, "<redacted>"),
    secrets,
  ).trim();
  return redacted.length > 500 ? `${redacted.slice(0, 497)}...` : redacted;
}

/** Reads an error body: DashScope JSON, the OSS XML of the upload host, or plain text as the message. */
export function parseDashscopeErrorBody(text: string): DashscopeErrorBody {
  try {
    const parsed = dashscopeErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      const { code, message, msg, request_id } = parsed.data;
      return withoutEmpty({ code, message: message ?? msg, requestId: request_id });
    }
  } catch {
    // Not JSON: the gateway or OSS answered; fall through.
  }
  const xmlField = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  if (text.trimStart().startsWith("<")) {
    return withoutEmpty({
      code: xmlField("Code"),
      message: xmlField("Message"),
      requestId: xmlField("RequestId"),
    });
  }
  return withoutEmpty({ message: text.trim().slice(0, 300) });
}

function withoutEmpty(body: Record<string, string | null | undefined>): DashscopeErrorBody {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) if (value) result[key] = value;
  return result as DashscopeErrorBody;
}

/** Reads `Retry-After` (seconds or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function classify(
  operation: DashscopeOperation,
  httpStatus: number,
  code: string | undefined,
  retryAfterHeader: string | string[] | undefined,
): { kind: ProviderErrorKind; retryAfterMs?: number } {
  const serverFailure = operation === "submit" ? "ambiguous_submit" : "transient";
  if (code && BILLING_CODES.has(code)) return { kind: "rejected" };
  if (code === "Throttling.AllocationQuota")
    return { kind: "throttled", retryAfterMs: ALLOCATION_QUOTA_RETRY_MS };
  if (httpStatus === 429 || (code !== undefined && THROTTLING_CODES.has(code))) {
    const retryAfterMs = parseRetryAfter(retryAfterHeader);
    return retryAfterMs === undefined ? { kind: "throttled" } : { kind: "throttled", retryAfterMs };
  }
  if (httpStatus >= 500 || (httpStatus < 300 && code !== undefined && SERVER_CODES.has(code))) {
    return { kind: serverFailure };
  }
  if (code && CONTENT_CODES.has(code)) return { kind: "content_rejected" };
  return { kind: "rejected" };
}

/**
 * What the client knows about its own settings, so that a rejected key is reported as the configuration problem it
 * is: which setting gave the key, which URL it was sent to, and which setting chose that URL.
 */
export interface DashscopeKeyContext {
  /** The API base URL in use. Not a secret. */
  baseUrl: string;
  /** Where the key came from, e.g. `DASHSCOPE_API_KEY` or `dashscope_api_key in ~/.alibabacloud/credentials`. */
  keySetting: string;
  /** The setting that chose the base URL, e.g. `DASHSCOPE_HTTP_BASE_URL`. */
  baseUrlSetting: string;
}

/** Where each region's classic endpoint is (dashscope.md 1.1), for the advice in a rejected-key message. */
const REGION_ADVICE =
  "a key works only in the region it was created in: Beijing https://dashscope.aliyuncs.com/api/v1, Singapore https://dashscope-intl.aliyuncs.com/api/v1";

/**
 * A 401 `InvalidApiKey` is not a provider failure: the key is wrong, missing at the provider, or from another region
 * (a cross-region call fails this way, dashscope.md 1.1). Retrying cannot help and fixing the settings can, so it is a
 * `ConfigurationError` naming the key's setting and the region's.
 */
function rejectedKeyError(
  details: { httpStatus: number; code: string; providerMessage: string; requestIdText: string },
  context: DashscopeKeyContext,
): ConfigurationError {
  const region = describeDashscopeRegion(context.baseUrl);
  return new ConfigurationError(
    `DashScope rejected the API key: ${details.httpStatus} ${details.code}: ${details.providerMessage}${details.requestIdText}. The key comes from ${context.keySetting} and was sent to ${context.baseUrl} (${region}, chosen by ${context.baseUrlSetting}). Check the key, and that it belongs to this region: ${REGION_ADVICE}; set ${context.baseUrlSetting} to the key's region`,
    { code: "dashscope_api_key_rejected" },
  );
}

/**
 * Maps a DashScope error answer (a non-2xx, or a 2xx whose body carries a top-level `code`) to a `ProviderError`,
 * or, given the client's `keyContext`, a rejected key (401 / `InvalidApiKey`) to a `ConfigurationError`.
 * The message reads `DashScope <operation> failed: <status> <code>: <message> (request_id <id>)`, without secrets.
 */
export function toDashscopeError(details: {
  operation: DashscopeOperation;
  httpStatus: number;
  body: DashscopeErrorBody;
  retryAfterHeader?: string | string[] | undefined;
  /** Values to strip from the message (API key, upload credential). */
  secrets: ReadonlyArray<string | undefined>;
  /** The client's own settings; without it a rejected key stays a `rejected` ProviderError. */
  keyContext?: DashscopeKeyContext;
}): ProviderError | ConfigurationError {
  const { operation, httpStatus, body, secrets } = details;
  const code = body.code ?? `HTTP_${httpStatus}`;
  const providerMessage = sanitizeDashscopeText(body.message ?? "no message", secrets);
  const requestIdText = body.requestId ? ` (request_id ${body.requestId})` : "";
  if (details.keyContext && (httpStatus === 401 || body.code === "InvalidApiKey")) {
    return rejectedKeyError({ httpStatus, code, providerMessage, requestIdText }, details.keyContext);
  }
  const { kind, retryAfterMs } = classify(operation, httpStatus, body.code, details.retryAfterHeader);
  const consequence =
    kind === "ambiguous_submit"
      ? "; the task may have been created: reconcile with the task list before resubmitting"
      : "";
  return new ProviderError(
    `DashScope ${operation} failed: ${httpStatus} ${code}: ${providerMessage}${requestIdText}${consequence}`,
    {
      kind,
      code,
      httpStatus,
      operation,
      ...(body.requestId ? { requestId: body.requestId } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    },
  );
}

/** The system or undici code of a network failure, looking through wrappers (`cause`, AggregateError). */
export function networkErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  if (error instanceof AggregateError) return networkErrorCode(error.errors[0]);
  return error.cause === undefined ? undefined : networkErrorCode(error.cause);
}

/**
 * Maps a failure to get any answer. Returns undefined for errors that are not network failures (programming
 * errors), which the caller re-throws as they are.
 */
export function fromDashscopeNetworkError(
  operation: DashscopeOperation,
  error: unknown,
  secrets: ReadonlyArray<string | undefined>,
): ProviderError | undefined {
  const code = networkErrorCode(error);
  if (code === undefined || code.startsWith("UND_ERR_INVALID")) return undefined;
  const notSent = NOT_SENT_CODES.has(code);
  const kind: ProviderErrorKind = operation === "submit" && !notSent ? "ambiguous_submit" : "transient";
  const reason = sanitizeDashscopeText(error instanceof Error ? error.message : String(error), secrets);
  const consequence =
    kind === "ambiguous_submit"
      ? "; the request may have reached DashScope and created a task: reconcile with the task list before resubmitting"
      : notSent
        ? "; the request did not reach DashScope"
        : "";
  return new ProviderError(`DashScope ${operation} failed: network error ${code}: ${reason}${consequence}`, {
    kind,
    code,
    operation,
    cause: error,
  });
}
