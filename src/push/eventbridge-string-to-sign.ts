/**
 * The headers EventBridge puts into the string-to-sign, in the documented order (docs/push.md). The token header is
 * present only when the target was given a signature token in the console.
 */
export const EVENTBRIDGE_SIGNED_HEADERS = [
  "x-eventbridge-signature-timestamp",
  "x-eventbridge-hash-method",
  "x-eventbridge-signature-version",
  "x-eventbridge-signature-url",
  "x-eventbridge-signature-token",
] as const;

/** The fields of one signed delivery. */
export interface SignedDelivery {
  /** The target URL as EventBridge called it: scheme, host, path and query (the route's secret included). */
  url: string;
  /** The request headers (names case-insensitive, as in the Fetch API). */
  headers: Headers;
  /** The raw body, exactly as received. */
  body: string;
}

/**
 * The string EventBridge signs: the target URL, then each fixed header present as `name: value`, then the raw body,
 * joined by `\n`. Public verifiers disagree on a trailing `\n` after the body; `trailingNewline` builds that variant.
 */
export function eventBridgeStringToSign(delivery: SignedDelivery, trailingNewline = false): Buffer {
  const lines = [delivery.url];
  for (const name of EVENTBRIDGE_SIGNED_HEADERS) {
    const value = delivery.headers.get(name);
    if (value !== null && value !== "") lines.push(`${name}: ${value}`);
  }
  lines.push(delivery.body);
  return Buffer.from(lines.join("\n") + (trailingNewline ? "\n" : ""), "utf8");
}
