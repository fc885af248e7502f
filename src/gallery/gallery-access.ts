import { safeEqual } from "../net/safe-equal.ts";
import {
  type GallerySigner,
  hostnameOf,
  isLoopbackHostname,
  readCookie,
  SESSION_COOKIE,
} from "./gallery-security.ts";

/** Who may see the operator pages, the JSON API, the media and `/metrics`. */
export interface GalleryAccessOptions {
  /**
   * VIDEO_GEN_UI_TOKEN: the operator token. Presented as `Authorization: Bearer <token>` (scrapers, scripts) or through
   * the login form, which sets an HttpOnly, SameSite=Strict session cookie. Unset: the pages are open on a loopback
   * server and off on any other.
   */
  token: string | undefined;
  /** Whether the server listens on a loopback address only (127.0.0.1, ::1, localhost). */
  loopbackOnly: boolean;
  /**
   * VIDEO_GEN_UI_HOSTS: further `Host` header names accepted (a proxy's public name). A loopback server accepts only
   * loopback names besides these (DNS rebinding reaches loopback servers too); a server bound elsewhere with a token
   * accepts any name unless this list is set.
   */
  allowedHosts: readonly string[];
}

/** The outcome of checking a request. */
export type AccessDecision =
  | {
      allowed: true /** The session the CSRF token binds to ("" on an open loopback server). */;
      session: string;
    }
  | { allowed: false; status: 401 | 403 | 421; reason: string };

/** Whether the pages are served at all with these options, and why not. */
export function galleryAvailability(options: GalleryAccessOptions): { enabled: boolean; reason: string } {
  if (options.token) return { enabled: true, reason: "token required (VIDEO_GEN_UI_TOKEN)" };
  if (options.loopbackOnly)
    return { enabled: true, reason: "open to this machine only (loopback, no token set)" };
  return {
    enabled: false,
    reason:
      "off: this server listens beyond loopback and VIDEO_GEN_UI_TOKEN is not set (set it to serve the gallery, the JSON API, the media and /metrics)",
  };
}

/** Checks the Host header, then the token (bearer or session cookie). */
export function checkAccess(
  request: Request,
  options: GalleryAccessOptions,
  signer: GallerySigner,
): AccessDecision {
  const host = request.headers.get("host") ?? "";
  const hostname = hostnameOf(host).toLowerCase();
  const named = options.allowedHosts.some((allowed) => allowed.toLowerCase() === hostname);
  const hostAccepted =
    named ||
    (options.loopbackOnly
      ? isLoopbackHostname(hostname)
      : options.allowedHosts.length === 0 || isLoopbackHostname(hostname));
  if (!hostAccepted) {
    return {
      allowed: false,
      status: 421,
      reason: `Host ${JSON.stringify(host)} is not served here; add it to VIDEO_GEN_UI_HOSTS if a proxy uses that name`,
    };
  }
  const availability = galleryAvailability(options);
  if (!availability.enabled) return { allowed: false, status: 403, reason: availability.reason };
  if (!options.token) return { allowed: true, session: "" };

  const authorization = request.headers.get("authorization");
  if (authorization?.toLowerCase().startsWith("bearer ")) {
    return safeEqual(authorization.slice("bearer ".length).trim(), options.token)
      ? { allowed: true, session: "bearer" }
      : { allowed: false, status: 401, reason: "the bearer token is not the operator token" };
  }
  const cookie = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
  if (cookie && safeEqual(cookie, signer.sessionValue())) return { allowed: true, session: cookie };
  return { allowed: false, status: 401, reason: "sign in with the operator token (VIDEO_GEN_UI_TOKEN)" };
}

/**
 * Whether a browser sent this request from a page of this server: the Origin (or, without one, the Referer) names
 * this server's host. Hosts, not whole origins: behind a TLS-terminating proxy the browser says https and this
 * server sees http.
 */
export function checkSameOrigin(request: Request): { ok: true } | { ok: false; reason: string } {
  const expectedHost = request.headers.get("host") ?? new URL(request.url).host;
  const origin = request.headers.get("origin");
  const from = origin && origin !== "null" ? origin : request.headers.get("referer");
  const fromHost = from ? hostOfUrl(from) : null;
  if (fromHost === null || fromHost.toLowerCase() !== expectedHost.toLowerCase()) {
    return {
      ok: false,
      reason: `cross-origin request refused (Origin ${from ?? "missing"}, this server is ${expectedHost})`,
    };
  }
  return { ok: true };
}

/**
 * A state-changing request must come from our own page ({@link checkSameOrigin}) and carry the CSRF token bound to
 * the session (OWASP's HMAC token plus Origin check).
 */
export function checkCsrf(
  request: Request,
  form: URLSearchParams,
  session: string,
  signer: GallerySigner,
): { ok: true } | { ok: false; reason: string } {
  const sameOrigin = checkSameOrigin(request);
  if (!sameOrigin.ok) return sameOrigin;
  const token = form.get("csrf") ?? "";
  if (!safeEqual(token, signer.csrfToken(session)))
    return { ok: false, reason: "missing or stale CSRF token: reload the page" };
  return { ok: true };
}

function hostOfUrl(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}
