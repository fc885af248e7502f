import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

/** A DashScope-style error answer: HTTP status plus `{ request_id, code, message }`. */
export class SandboxApiError extends Error {
  override name = "SandboxApiError";
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The documented throttling answer (no Retry-After header, like the real service). */
export const throttlingError = () =>
  new SandboxApiError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.");

/** Error answers of the fault kinds that send one. */
export const faultErrors = {
  throttle: throttlingError,
  "server-error": () =>
    new SandboxApiError(
      500,
      "InternalError",
      "An internal error has occured, please try again later or contact service support.",
    ),
  unavailable: () =>
    new SandboxApiError(503, "ModelUnavailable", "Model is unavailable, please try again later."),
} as const;

/** JSON content types as the real service sends them: plain on submit, with charset on the task GETs. */
export const JSON_TYPE = "application/json";
export const JSON_UTF8_TYPE = "application/json;charset=UTF-8";

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = JSON_TYPE,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Sends a DashScope error body; the submit route also echoes the request id in `x-request-id`. */
export function sendApiError(
  response: ServerResponse,
  error: SandboxApiError,
  options: { requestIdHeader?: boolean } = {},
): void {
  const requestId = randomUUID();
  sendJson(
    response,
    error.httpStatus,
    { request_id: requestId, code: error.code, message: error.message },
    options.requestIdHeader ? { "x-request-id": requestId } : {},
  );
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** Sends an OSS-style XML error, as the object storage routes (upload target, result URLs) answer. */
export function sendOssError(response: ServerResponse, status: number, code: string, message: string): void {
  const requestId = randomUUID().replace(/-/g, "").slice(0, 24).toUpperCase();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${escapeXml(code)}</Code>\n` +
    `  <Message>${escapeXml(message)}</Message>\n  <RequestId>${requestId}</RequestId>\n` +
    `  <HostId>sandbox.oss.local</HostId>\n</Error>\n`;
  response.writeHead(status, {
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(body),
    "x-oss-request-id": requestId,
  });
  response.end(body);
}
