import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";

/** The origins EventBridge serves its signing certificates from: `https://<region>-eventbridge.oss-accelerate.aliyuncs.com`. */
export const OFFICIAL_CERTIFICATE_ORIGIN =
  /^https:\/\/[a-z0-9-]+-eventbridge\.oss-accelerate\.aliyuncs\.com$/;

/** Largest certificate file read, bytes (a PEM certificate is about 1.5 KB). */
const MAX_CERTIFICATE_BYTES = 64 * 1024;
/** How long a fetched certificate is reused, ms. The URL names the certificate, so a new one gets a new URL. */
const CACHE_MS = 60 * 60 * 1000;
/** Most certificates kept; only a handful of regions and rotations exist. */
const CACHE_ENTRIES = 32;

/** Where the verifier gets the public key of a delivery's `x-eventbridge-signature-url`. */
export interface CertificateSource {
  /** The key, or null when the URL is not on a trusted origin or the file is not a certificate. */
  publicKey(url: string): Promise<KeyObject | null>;
}

/** Options of {@link createCertificateSource}. */
export interface CertificateSourceOptions {
  /** Origins a certificate may come from. Default {@link OFFICIAL_CERTIFICATE_ORIGIN}; tests name their own server. */
  trustedOrigin?: RegExp;
  /** Fetch implementation. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Clock, ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Fetches signing certificates from trusted origins only and caches them, so a delivery costs no outbound request
 * once its certificate is known. A URL elsewhere is refused before any request is made.
 */
export function createCertificateSource(options: CertificateSourceOptions = {}): CertificateSource {
  const trustedOrigin = options.trustedOrigin ?? OFFICIAL_CERTIFICATE_ORIGIN;
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { key: KeyObject; expiresAt: number }>();

  return {
    async publicKey(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return null;
      }
      if (url.username !== "" || url.password !== "" || !trustedOrigin.test(url.origin)) return null;
      const cached = cache.get(url.href);
      if (cached && cached.expiresAt > now()) return cached.key;
      const key = await download(url);
      if (key === null) return null;
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(url.href, { key, expiresAt: now() + CACHE_MS });
      return key;
    },
  };

  async function download(url: URL): Promise<KeyObject | null> {
    try {
      // A redirect could lead off the trusted origin, so none is followed.
      const response = await fetchImpl(url, { redirect: "error", signal: AbortSignal.timeout(5000) });
      if (!response.ok) return null;
      const text = await response.text();
      if (text.length > MAX_CERTIFICATE_BYTES) return null;
      return parsePublicKey(text);
    } catch {
      return null;
    }
  }
}

/** The public key of a PEM X.509 certificate, or of a bare PEM public key (the file's exact form is not documented). */
export function parsePublicKey(pem: string): KeyObject | null {
  try {
    if (pem.includes("BEGIN CERTIFICATE")) return new X509Certificate(pem).publicKey;
    return createPublicKey(pem);
  } catch {
    return null;
  }
}
