import { type KeyObject, sign } from "node:crypto";
import { eventBridgeStringToSign } from "../push/eventbridge-string-to-sign.ts";

/** What one signed delivery needs. */
export interface SignInput {
  /** The target URL, exactly as it will be called. */
  url: string;
  /** The raw body. */
  body: string;
  /** The emulator's private key. */
  privateKey: KeyObject;
  /** Where the matching certificate is served (`x-eventbridge-signature-url`). */
  certificateUrl: string;
  /** Signing time, epoch ms (`x-eventbridge-signature-timestamp`). */
  timestampMs: number;
}

/**
 * The headers EventBridge's v2 scheme puts on an HTTP push (docs/push.md): RSA over SHA-256 of the string-to-sign,
 * Base64. Used by the sandbox's emulator and by tests that forge deliveries.
 */
export function signEventBridgeDelivery(input: SignInput): Headers {
  const headers = new Headers({
    "content-type": "application/json",
    "x-eventbridge-signature-timestamp": String(input.timestampMs),
    "x-eventbridge-hash-method": "SHA256",
    "x-eventbridge-signature-version": "1.0",
    "x-eventbridge-signature-url": input.certificateUrl,
  });
  const stringToSign = eventBridgeStringToSign({ url: input.url, headers, body: input.body });
  headers.set(
    "x-eventbridge-signature-v2",
    sign("sha256", stringToSign, input.privateKey).toString("base64"),
  );
  return headers;
}
