import { createHmac, randomBytes } from "node:crypto";

/** Cookie that carries a signed-in session. */
export const SESSION_COOKIE = "video_gen_session";

/**
 * The keys the pages sign with. Derived from the operator token when there is one, so every worker behind a load
 * balancer accepts the others' cookies and CSRF tokens; a random per-process key otherwise (a loopback server
 * without a token is one process on one machine).
 */
export interface GallerySigner {
  /** The session cookie's value for a signed-in browser. */
  sessionValue(): string;
  /** The CSRF token bound to `session` (the cookie value, or "" on an open loopback server). */
  csrfToken(session: string): string;
}

export function createGallerySigner(token: string | undefined): GallerySigner {
  const key = token
    ? createHmac("sha256", token).update("video-gen gallery keys v1").digest()
    : randomBytes(32);
  const sign = (text: string) => createHmac("sha256", key).update(text).digest("base64url");
  return {
    sessionValue: () => sign("session"),
    csrfToken: (session) => sign(`csrf:${session}`),
  };
}

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const separator = part.indexOf("=");
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

const LOOPBACK_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Whether a host name (no port) names this machine's loopback interface. */
export function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return LOOPBACK_HOSTNAMES.has(name) || /^127(\.\d{1,3}){3}$/.test(name) || name.endsWith(".localhost");
}

/** The host name of a `Host` header value (`example.com:3000` → `example.com`, `[::1]:3000` → `[::1]`). */
export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]");
    return end > 0 ? hostHeader.slice(0, end + 1) : hostHeader;
  }
  const colon = hostHeader.lastIndexOf(":");
  return colon > 0 ? hostHeader.slice(0, colon) : hostHeader;
}
