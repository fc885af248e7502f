import { lookup as dnsLookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { InputError, StorageError } from "../errors/index.ts";
import { redactUrl } from "./redact.ts";

/**
 * Whose URL is being fetched, which decides the error a refusal raises:
 * - `{ field }`: a URL from the request (e.g. `reference_image`); refusals are `InputError`s naming that field.
 * - `"result"` (the default): the provider's result URL; refusals are non-retryable `StorageError`s.
 */
export type FetchSubject = { field: string } | "result";

export interface UrlGuardOptions {
  /**
   * Hosts exempt from the address rules, exactly as written: `"host"` exempts every port of that host,
   * `"host:port"` only that port (IPv6 as `"[::1]:8080"` or `"::1"`). Default: none. Used for local test servers.
   */
  allowHosts?: readonly string[];
  /** Name resolution, injectable for tests. Default: `node:dns` lookup of all addresses. */
  resolve?: (hostname: string) => Promise<string[]>;
}

export interface UrlGuard {
  /**
   * Resolves when `url` may be fetched: http(s), and every address its host resolves to is public unicast
   * (or the host is in `allowHosts`). Otherwise throws the subject's error, naming the redacted URL and the rule.
   */
  check(url: URL, options?: { subject?: FetchSubject }): Promise<void>;
  /**
   * Throws when `address` (an IP literal) is not public unicast and `hostname` is not exempt. Used at connect time
   * so the socket goes to an address that was checked (no DNS rebinding between check and connect).
   */
  checkAddress(hostname: string, address: string, options?: { subject?: FetchSubject; url?: string }): void;
}

/** Host names of cloud metadata services, refused whatever they resolve to. */
const METADATA_HOSTS = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
]);

/**
 * Builds the error a failed fetch raises for `subject`. A transient failure (`retryable: true`) is always a
 * `StorageError`, since repeating may succeed whoever gave the URL; a permanent one names the request field.
 */
export function fetchRefusal(
  subject: FetchSubject | undefined,
  message: string,
  options: { code: string; retryable?: boolean; cause?: unknown },
): InputError | StorageError {
  if (subject !== undefined && subject !== "result" && options.retryable !== true) {
    return new InputError([{ field: subject.field, message: `${subject.field}: ${message}` }], {
      cause: options.cause,
    });
  }
  return new StorageError(message, {
    code: options.code,
    retryable: options.retryable ?? false,
    cause: options.cause,
  });
}

/** Strips IPv6 brackets and lowercases, so `[::1]` and `::1` compare equal. */
function normalizeHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

function parseAllowEntry(entry: string): { host: string; port: string | undefined } {
  const trimmed = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) return { host: normalizeHost(bracketed[1] ?? ""), port: bracketed[2] };
  // A bare IPv6 address has several colons and no port.
  const parts = trimmed.split(":");
  if (parts.length === 2) return { host: normalizeHost(parts[0] ?? ""), port: parts[1] };
  return { host: normalizeHost(trimmed), port: undefined };
}

function effectivePort(url: URL): string {
  if (url.port) return url.port;
  return url.protocol === "https:" ? "443" : "80";
}

/**
 * Why `address` may not be fetched, or undefined when it is public unicast. IPv4-mapped IPv6 addresses are judged as
 * the IPv4 address they carry. Every ipaddr.js special range (private, loopback, link-local, unique-local,
 * carrier-grade NAT, multicast, unspecified, reserved, NAT64 …) is refused; cloud metadata addresses
 * (169.254.169.254, fd00:ec2::254, Alibaba's 100.100.100.200) fall in link-local, unique-local and CGNAT.
 */
export function addressRefusalReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "is not an IP address";
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  return range === "unicast" ? undefined : `is a ${range} address (${parsed.toString()})`;
}

/** Creates the check every outgoing fetch goes through (design §6). */
export function createUrlGuard(options: UrlGuardOptions = {}): UrlGuard {
  const allowed = (options.allowHosts ?? []).filter((entry) => entry.trim() !== "").map(parseAllowEntry);
  const resolve =
    options.resolve ??
    (async (hostname: string) =>
      (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address));

  function isExempt(hostname: string, port: string | undefined): boolean {
    const host = normalizeHost(hostname);
    return allowed.some((entry) => entry.host === host && (entry.port === undefined || entry.port === port));
  }

  function refuseUnlessPublic(hostname: string, address: string, subject?: FetchSubject, url?: string) {
    const reason = addressRefusalReason(address);
    if (reason) {
      const what = url ? redactUrl(url) : normalizeHost(hostname);
      throw fetchRefusal(subject, `refusing to fetch ${what}: host ${normalizeHost(hostname)} ${reason}`, {
        code: "url_refused",
      });
    }
  }

  function checkAddress(
    hostname: string,
    address: string,
    checkOptions: { subject?: FetchSubject; url?: string } = {},
  ) {
    // Connect-time lookups know no port; the port was already checked by `check` before the request.
    if (allowed.some((entry) => entry.host === normalizeHost(hostname))) return;
    refuseUnlessPublic(hostname, address, checkOptions.subject, checkOptions.url);
  }

  return {
    checkAddress,
    async check(url, checkOptions = {}) {
      const { subject } = checkOptions;
      const shown = redactUrl(url.toString());
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw fetchRefusal(subject, `refusing to fetch ${shown}: only http and https URLs are allowed`, {
          code: "url_refused",
        });
      }
      if (isExempt(url.hostname, effectivePort(url))) return;
      const host = normalizeHost(url.hostname);
      if (METADATA_HOSTS.has(host.replace(/\.$/, ""))) {
        throw fetchRefusal(subject, `refusing to fetch ${shown}: ${host} is a cloud metadata service`, {
          code: "url_refused",
        });
      }
      let addresses: string[];
      if (ipaddr.isValid(host)) {
        addresses = [host];
      } else {
        try {
          addresses = await resolve(host);
        } catch (error) {
          // An unknown host is the caller's mistake; a resolver outage may pass.
          const notFound = (error as NodeJS.ErrnoException).code === "ENOTFOUND";
          throw fetchRefusal(subject, `cannot fetch ${shown}: host ${host} does not resolve`, {
            code: "url_unresolvable",
            retryable: !notFound,
            cause: error,
          });
        }
      }
      if (addresses.length === 0) {
        throw fetchRefusal(subject, `cannot fetch ${shown}: host ${host} has no address`, {
          code: "url_unresolvable",
        });
      }
      for (const address of addresses) refuseUnlessPublic(host, address, subject, url.toString());
    },
  };
}
