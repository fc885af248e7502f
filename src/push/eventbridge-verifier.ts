import { verify } from "node:crypto";
import type { CertificateSource } from "./eventbridge-certificates.ts";
import { eventBridgeStringToSign, type SignedDelivery } from "./eventbridge-string-to-sign.ts";

/** Why a delivery was refused (kept out of the HTTP answer; useful in tests and logs). */
export type VerificationFailure =
  | "missing-header"
  | "stale-timestamp"
  | "hash-method"
  | "certificate"
  | "signature";

/** The verdict on one delivery. */
export type Verification = { ok: true } | { ok: false; reason: VerificationFailure };

/** Checks that a delivery was signed by EventBridge (v2 scheme: RSA over SHA-256). */
export interface EventBridgeVerifier {
  verify(delivery: SignedDelivery): Promise<Verification>;
}

/** Options of {@link createEventBridgeVerifier}. */
export interface EventBridgeVerifierOptions {
  /** Where the signing certificates come from (trusted origins only, cached). */
  certificates: CertificateSource;
  /** Largest difference between the delivery's timestamp and now, ms. Default 60 000 (the documented limit). */
  maxSkewMs?: number;
  /** Clock, ms. Default `Date.now`. */
  now?: () => number;
}

/** Timestamps below this are seconds, above it milliseconds (the unit is not documented; see docs/push.md). */
const SECONDS_LIMIT = 1e11;

/**
 * Verifies EventBridge's v2 HTTP signature: a fresh timestamp, SHA-256, a certificate from a trusted origin, and the
 * RSA signature of the string-to-sign. The cheap checks come first so a forged request costs no certificate fetch.
 */
export function createEventBridgeVerifier(options: EventBridgeVerifierOptions): EventBridgeVerifier {
  const maxSkewMs = options.maxSkewMs ?? 60_000;
  const now = options.now ?? Date.now;

  return {
    async verify(delivery) {
      const signature = delivery.headers.get("x-eventbridge-signature-v2");
      const timestamp = delivery.headers.get("x-eventbridge-signature-timestamp");
      const certificateUrl = delivery.headers.get("x-eventbridge-signature-url");
      const hashMethod = delivery.headers.get("x-eventbridge-hash-method");
      if (!signature || !timestamp || !certificateUrl || !hashMethod)
        return { ok: false, reason: "missing-header" };
      if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: "stale-timestamp" };
      const value = Number(timestamp);
      const signedAtMs = value < SECONDS_LIMIT ? value * 1000 : value;
      if (Math.abs(now() - signedAtMs) > maxSkewMs) return { ok: false, reason: "stale-timestamp" };
      if (hashMethod.toUpperCase().replace("-", "") !== "SHA256") return { ok: false, reason: "hash-method" };
      const key = await options.certificates.publicKey(certificateUrl);
      if (key === null) return { ok: false, reason: "certificate" };
      const bytes = Buffer.from(signature, "base64");
      if (bytes.length === 0) return { ok: false, reason: "signature" };
      // Both layouts public verifiers use are accepted: the signer is the same key either way.
      const valid =
        verify("sha256", eventBridgeStringToSign(delivery), key, bytes) ||
        verify("sha256", eventBridgeStringToSign(delivery, true), key, bytes);
      return valid ? { ok: true } : { ok: false, reason: "signature" };
    },
  };
}
