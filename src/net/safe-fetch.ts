import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { isVideoGenerationError, StorageError } from "../errors/index.ts";
import { redactUrl } from "./redact.ts";
import { type FetchSubject, fetchRefusal, type UrlGuard } from "./url-guard.ts";

export interface SafeFetcherOptions {
  /** Checks the first URL and every redirect target. */
  guard: UrlGuard;
  /** Default cap on body bytes; `open` may lower or raise it per call. */
  maxBytes: number;
  /** TCP/TLS connect timeout in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Time to the response headers in ms. Default 30 000. */
  headersTimeoutMs?: number;
  /** Longest pause between two body chunks in ms. Default 60 000. */
  bodyTimeoutMs?: number;
  /** Redirects followed (each re-checked by the guard). Default 5. */
  maxRedirects?: number;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Whose URL this is; decides the error type of refusals. Default `"result"`. */
  subject?: FetchSubject;
  /** Cap on body bytes for this call. Default: the fetcher's `maxBytes`. */
  maxBytes?: number;
}

/** An open response body that errors (with a `StorageError`/`InputError`) on a size cap or a short body. */
export interface FetchedBody {
  body: Readable;
  /** Declared Content-Length, when the server sent one. */
  contentLength: number | undefined;
  /** Declared Content-Type, when the server sent one. */
  contentType: string | undefined;
  /** The URL after redirects (may carry a signed query: redact before showing it). */
  finalUrl: string;
}

export interface SafeFetcher {
  open(url: string | URL, options?: OpenOptions): Promise<FetchedBody>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Statuses meaning the URL is expired or gone: repeating the same GET cannot succeed. */
const GONE_STATUSES = new Set([403, 404, 410]);

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Creates the only way the stage downloads anything: guarded, capped, redirect-checked GETs.
 *
 * Transport is node:http(s), not undici: undici 7 (the last line that runs on Node 20) throws an uncatchable
 * AssertionError (`assert(!this.paused)`, nodejs/undici#5360, fixed in undici 8 only) when a server closes the
 * connection while the body is paused by backpressure, which is the normal state of a download feeding a slower
 * upload. Node's client handles that case. Each connection's DNS lookup re-checks every resolved address with the
 * guard, so the socket goes to an address that passed (no DNS rebinding between the check and the connect).
 */
export function createSafeFetcher(options: SafeFetcherOptions): SafeFetcher {
  const { guard } = options;
  const maxRedirects = options.maxRedirects ?? 5;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 60_000;
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  function guardedLookup(hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      try {
        for (const entry of addresses) guard.checkAddress(hostname, entry.address);
      } catch (refusal) {
        return callback(refusal as Error, []);
      }
      const first = addresses[0];
      if (lookupOptions.all || !first) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  }

  /** One GET, resolving at the response headers; the socket's idle timeout then guards the body. */
  function get(url: URL, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === "https:";
      const outgoing = (secure ? httpsRequest : httpRequest)(url, {
        method: "GET",
        agent: secure ? agents.https : agents.http,
        lookup: guardedLookup,
        headers: { "accept-encoding": "identity" },
        ...(signal ? { signal } : {}),
      });
      const fail = (message: string) =>
        outgoing.destroy(Object.assign(new Error(message), { code: "ETIMEDOUT" }));
      const headersTimer = setTimeout(
        () => fail(`no response headers within ${headersTimeoutMs} ms`),
        headersTimeoutMs,
      );
      outgoing.on("socket", (socket) => {
        if (socket.connecting) {
          const connectTimer = setTimeout(
            () => fail(`no connection within ${connectTimeoutMs} ms`),
            connectTimeoutMs,
          );
          socket.once("connect", () => clearTimeout(connectTimer));
          outgoing.once("close", () => clearTimeout(connectTimer));
        }
      });
      outgoing.setTimeout(bodyTimeoutMs, () => fail(`no data for ${bodyTimeoutMs} ms`));
      outgoing.once("response", (response) => {
        clearTimeout(headersTimer);
        resolve(response);
      });
      outgoing.once("error", (error) => {
        clearTimeout(headersTimer);
        reject(error);
      });
      outgoing.end();
    });
  }

  return {
    async open(url, openOptions = {}) {
      const { signal, subject } = openOptions;
      const maxBytes = openOptions.maxBytes ?? options.maxBytes;
      let current = new URL(url);
      for (let hop = 0; ; hop += 1) {
        await guard.check(current, { subject });
        const shown = redactUrl(current.toString());
        let response: IncomingMessage;
        try {
          response = await get(current, signal);
        } catch (error) {
          throw networkError(error, shown, subject, signal);
        }
        const statusCode = response.statusCode ?? 0;
        const { headers } = response;
        if (REDIRECT_STATUSES.has(statusCode) && headers.location) {
          response.resume();
          if (hop >= maxRedirects) {
            throw fetchRefusal(subject, `refusing to fetch ${shown}: more than ${maxRedirects} redirects`, {
              code: "too_many_redirects",
            });
          }
          current = new URL(String(headers.location), current);
          continue;
        }
        if (statusCode < 200 || statusCode > 299) {
          response.resume();
          const gone = GONE_STATUSES.has(statusCode);
          throw fetchRefusal(
            subject,
            gone
              ? `cannot fetch ${shown}: HTTP ${statusCode} (the URL is expired or missing)`
              : `cannot fetch ${shown}: HTTP ${statusCode}`,
            {
              code: gone ? "download_gone" : "download_http_error",
              retryable: isRetryableStatus(statusCode),
            },
          );
        }
        const contentLength =
          headers["content-length"] === undefined ? undefined : Number(headers["content-length"]);
        if (contentLength !== undefined && contentLength > maxBytes) {
          response.destroy();
          throw tooLarge(subject, shown, maxBytes, `declares ${contentLength} bytes`);
        }
        const contentType =
          headers["content-type"] === undefined ? undefined : String(headers["content-type"]);
        const body = Readable.from(
          checkedBody(response, { maxBytes, contentLength, shown, subject, signal }),
          {
            objectMode: false,
          },
        );
        return { body, contentLength, contentType, finalUrl: current.toString() };
      }
    },
  };
}

function tooLarge(subject: FetchSubject | undefined, shown: string, maxBytes: number, detail: string) {
  return fetchRefusal(
    subject,
    `refusing to fetch ${shown}: the body ${detail}, over the cap of ${maxBytes} bytes`,
    {
      code: "too_large",
    },
  );
}

/** Yields the body's chunks, failing past the cap and when the body ends short of its Content-Length. */
async function* checkedBody(
  source: Readable,
  context: {
    maxBytes: number;
    contentLength: number | undefined;
    shown: string;
    subject: FetchSubject | undefined;
    signal: AbortSignal | undefined;
  },
): AsyncGenerator<Buffer> {
  let received = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      received += chunk.byteLength;
      if (received > context.maxBytes) {
        throw tooLarge(context.subject, context.shown, context.maxBytes, "exceeds");
      }
      yield chunk;
    }
  } catch (error) {
    throw networkError(error, context.shown, context.subject, context.signal);
  } finally {
    // Also runs when the consumer stops early: release the socket.
    source.destroy();
  }
  if (context.contentLength !== undefined && received !== context.contentLength) {
    throw new StorageError(
      `download of ${context.shown} ended after ${received} of ${context.contentLength} declared bytes`,
      { code: "download_truncated", retryable: true },
    );
  }
}

/** Maps a transport failure to a retryable StorageError (or a non-retryable one for an abort); keeps our own errors. */
function networkError(
  error: unknown,
  shown: string,
  subject: FetchSubject | undefined,
  signal: AbortSignal | undefined,
) {
  if (isVideoGenerationError(error)) {
    // A connect-time address refusal is raised without a subject: give it the caller's.
    if (error.code === "url_refused" && subject !== undefined && subject !== "result") {
      return fetchRefusal(subject, error.message, { code: error.code, cause: error });
    }
    return error;
  }
  if (signal?.aborted) {
    return new StorageError(`download of ${shown} was aborted`, {
      code: "aborted",
      retryable: false,
      cause: error,
    });
  }
  const code = (error as { code?: string }).code;
  return new StorageError(
    `download of ${shown} failed: ${code ?? (error as Error).message ?? "network error"}`,
    {
      code: "download_failed",
      retryable: true,
      cause: error,
    },
  );
}

/** Downloads a small body (e.g. a reference image) into memory, under `maxBytes`. */
export async function fetchBytes(
  fetcher: SafeFetcher,
  url: string | URL,
  options: { maxBytes: number; signal?: AbortSignal; subject?: FetchSubject },
): Promise<{ bytes: Uint8Array; contentType: string | undefined; finalUrl: string }> {
  const opened = await fetcher.open(url, options);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return {
    bytes: new Uint8Array(Buffer.concat(chunks)),
    contentType: opened.contentType,
    finalUrl: opened.finalUrl,
  };
}
