import { describeValue, type VideoGenerateRequest } from "../contract/video-generate-request.ts";
import { redactUrl } from "../net/redact.ts";

/**
 * The request as it is kept in the metadata record: a data: URI image (up to 27 MB of text) becomes a short
 * description, and signed URLs lose their query strings, which are secrets.
 */
export function describeRequestForRecord(request: VideoGenerateRequest): Record<string, unknown> {
  const described: Record<string, unknown> = { ...request };
  if (/^(data:|https?:)/i.test(request.reference_image))
    described.reference_image = redactUrl(request.reference_image);
  if (request.audio_url) described.audio_url = redactUrl(request.audio_url);
  return described;
}

/**
 * A request that failed validation, as kept in its record: every value shortened (a data: URI or a huge string must
 * not fill the database), URLs without their query strings. Enough to see what was sent, never a secret.
 */
export function describeUnvalidatedRequest(data: unknown): Record<string, unknown> {
  if (data === null || typeof data !== "object" || Array.isArray(data))
    return { received: describeValue(data) };
  const described: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(data).slice(0, 40)) {
    if (typeof value === "string" && /^(data:|https?:|s3:)/i.test(value)) described[field] = redactUrl(value);
    else if (typeof value === "string" || typeof value === "object") described[field] = describeValue(value);
    else described[field] = value;
  }
  return described;
}
