import type { VideoGenerateRequest } from "../contract/video-generate-request.ts";
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
