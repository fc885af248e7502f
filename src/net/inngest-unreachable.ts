import type { Inngest } from "inngest";
import { redactUrl } from "./redact.ts";

/** Why the Inngest server could not be reached, from the network error under the SDK's "fetch failed". */
export type InngestUnreachableReason =
  /** Nothing listens at the address (the dev server is not running, or runs on another port). */
  | "refused"
  /** The host name does not resolve. */
  | "dns"
  /** No answer in time (connect, headers or body). */
  | "timeout"
  /** The connection was closed or reset before an answer. */
  | "reset"
  /** No route to the host or network. */
  | "unreachable"
  /** `fetch` itself refuses the port (the ports browsers block, e.g. 1, 9, 22). */
  | "blocked_port"
  /** The TLS handshake failed (certificate or protocol). */
  | "tls";

/** What `video-gen send`, `cancel` and the gallery's actions say when the Inngest event API cannot be reached. */
export interface InngestUnreachable {
  /** The event API base URL the client sent to (no credentials, no query; the event key is never part of it). */
  url: string;
  reason: InngestUnreachableReason;
  /**
   * The variables that set `url`, most specific first; empty when none did (Inngest Cloud's default address). When the
   * environment was not given and an override set the URL, both override variables are named (either may have).
   */
  variables: string[];
  /** One paragraph for a person: the URL, why it failed, where the URL came from and what to do. */
  message: string;
}

/** The SDK's (v4) defaults and variables for the event API, in its order of precedence (Inngest.eventBaseUrl). */
const EVENT_API_VARIABLE = "INNGEST_EVENT_API_BASE_URL";
const BASE_URL_VARIABLE = "INNGEST_BASE_URL";
const DEV_VARIABLE = "INNGEST_DEV";
const DEV_SERVER_DEFAULT_URL = "http://localhost:8288/";
const CLOUD_EVENT_API_URL = "https://inn.gs/";

const REASON_BY_CODE: Record<string, InngestUnreachableReason> = {
  ECONNREFUSED: "refused",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  EAI_NONAME: "dns",
  EAI_FAIL: "dns",
  ETIMEDOUT: "timeout",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ECONNRESET: "reset",
  EPIPE: "reset",
  UND_ERR_SOCKET: "reset",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  EHOSTDOWN: "unreachable",
  ENETDOWN: "unreachable",
  EADDRNOTAVAIL: "unreachable",
};

const REASON_TEXT: Record<InngestUnreachableReason, string> = {
  refused: "connection refused: nothing listens there",
  dns: "the host name does not resolve",
  timeout: "no answer in time",
  reset: "the connection was closed before an answer",
  unreachable: "no route to the host",
  blocked_port: "fetch refuses to connect to that port",
  tls: "the TLS handshake failed",
};

/** The errors under `error`: its `cause` chain and an AggregateError's members (a host with several addresses). */
function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 16) {
    const current = pending.shift();
    if (current === undefined || current === null || chain.includes(current)) continue;
    chain.push(current);
    if (typeof current !== "object") continue;
    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return chain;
}

/** The network failure in `error`'s chain, or undefined when the server answered (a 401, a 400, …) or it is no network error. */
export function classifyNetworkError(error: unknown): InngestUnreachableReason | undefined {
  for (const link of errorChain(error)) {
    if (typeof link !== "object" || link === null) continue;
    const { code, name, message } = link as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === "string") {
      const reason = REASON_BY_CODE[code];
      if (reason) return reason;
      if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code)) return "tls";
    }
    if (name === "TimeoutError") return "timeout";
    // undici (Node's fetch) rejects the "bad ports" of the Fetch standard before connecting, with no code.
    if (message === "bad port") return "blocked_port";
  }
  return undefined;
}

/** `url` with its trailing slash normalized, for comparing a variable's value with the client's resolved URL. */
function sameUrl(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const normalize = (value: string) => {
    try {
      return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`).href;
    } catch {
      return value;
    }
  };
  return normalize(a) === normalize(b);
}

/** A boolean-like INNGEST_DEV value (as the SDK parses it), so a URL value is told apart from "1"/"true". */
function isBooleanLike(value: string): boolean {
  return /^(1|0|true|false|yes|no|on|off)$/i.test(value.trim());
}

/** The parts of an Inngest client (any of its generic forms) that decide where events are sent. */
export type InngestEventApiClient = Pick<Inngest.Any, "eventBaseUrl" | "mode" | "explicitDevUrl">;

interface UrlSource {
  variables: string[];
  /** Where the URL came from, for the message. */
  origin: string;
}

/**
 * Which variables set the client's event API URL, following the SDK's precedence: INNGEST_EVENT_API_BASE_URL, then
 * INNGEST_BASE_URL, then INNGEST_DEV holding a URL, then the dev server's default (INNGEST_DEV=1) or Inngest Cloud's.
 * Without `environment` (the client's own copy is private), an override is reported as either override variable.
 */
function urlSource(
  client: InngestEventApiClient,
  url: string,
  environment?: Record<string, string | undefined>,
): UrlSource {
  if (environment) {
    for (const variable of [EVENT_API_VARIABLE, BASE_URL_VARIABLE]) {
      if (sameUrl(environment[variable], url)) return { variables: [variable], origin: `set by ${variable}` };
    }
  }
  const explicitDevUrl = client.explicitDevUrl;
  if (explicitDevUrl && explicitDevUrl.href === url) {
    return { variables: [DEV_VARIABLE], origin: `set by ${DEV_VARIABLE}` };
  }
  if (client.mode === "dev" && url === DEV_SERVER_DEFAULT_URL) {
    const value = environment?.[DEV_VARIABLE];
    const shown = value && isBooleanLike(value) ? `${DEV_VARIABLE}=${value.trim()}` : DEV_VARIABLE;
    return {
      variables: [DEV_VARIABLE],
      origin: `the local dev server's default address (dev mode, ${shown})`,
    };
  }
  if (client.mode === "cloud" && url === CLOUD_EVENT_API_URL) {
    return { variables: [], origin: `Inngest Cloud's event API (no ${DEV_VARIABLE}: cloud mode)` };
  }
  if (environment) return { variables: [], origin: "the Inngest client's own baseUrl option" };
  return {
    variables: [EVENT_API_VARIABLE, BASE_URL_VARIABLE],
    origin: `set by ${EVENT_API_VARIABLE} or ${BASE_URL_VARIABLE}`,
  };
}

/**
 * When `error` (thrown by `client.send`) means the Inngest event API could not be reached, says which URL was tried,
 * why it failed and which variables set it; null for any other error (an answer such as 401 "Event key Not Found"
 * is not a reachability problem). `environment` is what the client was configured with (its copy is private to the
 * SDK); with it the message names the one variable that set the URL.
 */
export function describeInngestUnreachable(
  error: unknown,
  client: InngestEventApiClient,
  environment?: Record<string, string | undefined>,
): InngestUnreachable | null {
  const reason = classifyNetworkError(error);
  if (!reason) return null;
  const resolved = client.eventBaseUrl;
  const url = redactUrl(resolved);
  const source = urlSource(client, resolved, environment);
  const remedy =
    client.mode === "dev"
      ? `Start the Inngest dev server (npx inngest-cli@latest dev), or point ${DEV_VARIABLE}, ${BASE_URL_VARIABLE} or ${EVENT_API_VARIABLE} at the server you run.`
      : `Check the network, or point ${BASE_URL_VARIABLE} or ${EVENT_API_VARIABLE} at your self-hosted server; for a local dev server set ${DEV_VARIABLE}=1.`;
  return {
    url,
    reason,
    variables: source.variables,
    message: `could not reach the Inngest event API at ${url} (${REASON_TEXT[reason]}); that URL is ${source.origin}. ${remedy}`,
  };
}
