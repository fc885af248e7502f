import type { ImageDelivery } from "../../metadata/generation-record.ts";
import type { ProviderImage } from "../../providers/provider.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import type { ResolvedGeneration } from "./resolve-image-step.ts";

/** How reference images reach the model (VIDEO_GEN_IMAGE_DELIVERY and what the object store allows). */
export interface ImageDeliverySettings {
  /**
   * `auto` (default) takes the first route that applies: the request's own public https URL, a presigned URL of the
   * object store when the internet can reach it, a data: URI up to `inlineMaxBytes`, DashScope's temporary upload.
   * `presigned`, `data-uri` and `upload` force a route for every image.
   */
  mode: "auto" | "presigned" | "data-uri" | "upload";
  /** Whether the provider can fetch the object store's presigned URLs: AWS S3, or a store with S3_PUBLIC_BASE_URL. */
  presignedReachable: boolean;
  /** Images up to this many bytes go inline under `auto` (DASHSCOPE_INLINE_IMAGE_MAX_BYTES); 0: never. */
  inlineMaxBytes: number;
  /** Lifetime of a presigned image URL, s: long enough for a task queued at the provider until its deadline. */
  presignTtlSeconds: number;
}

/** The documented per-item limit of a data: URI (dashscope.md 2.3, VL models; unverified for this model). */
export const DATA_URI_MAX_BYTES = 10 * 1024 * 1024;

/** Largest stored reference image read back (the model's own limit). */
const REFERENCE_IMAGE_MAX_BYTES = 20 * 1024 * 1024;

/** The image as the provider gets it, how, and the one value that must never leave the submit step. */
export interface DeliveredImage {
  image: ProviderImage;
  delivery: ImageDelivery;
  /** A presigned URL (a bearer credential until it expires): redacted from anything the step lets out. */
  secret?: string;
}

/**
 * Chooses, inside the submit step, how the reference image reaches the model. DashScope's temporary upload is the
 * last resort: Alibaba's page for it says not to use it in production, and its policy call is capped at 100 QPS per
 * account. A presigned URL is made here, used once, and never returned.
 */
export async function deliverImage(input: {
  resolved: ResolvedGeneration;
  /** The raw `reference_image` of the event (it may be a URL with a query string). */
  referenceImage: string;
  dependencies: VideoGenerateDependencies;
}): Promise<DeliveredImage> {
  const { resolved, dependencies } = input;
  const settings = dependencies.settings.imageDelivery;
  const stored = resolved.image;
  // Runs that resolved their image before every image was kept in the store carry its public URL.
  if (stored.kind === "url") return { image: { kind: "url", url: stored.url }, delivery: "url" };

  if (settings.mode === "auto" && stored.ownUrl) {
    return { image: { kind: "url", url: input.referenceImage }, delivery: "url" };
  }
  const presignable = settings.presignedReachable && dependencies.objectStore.kind === "s3";
  if ((settings.mode === "auto" || settings.mode === "presigned") && presignable) {
    const url = await dependencies.objectStore.presign(stored.key, settings.presignTtlSeconds);
    return { image: { kind: "url", url }, delivery: "presigned", secret: url };
  }
  const bytes = await dependencies.objectStore.getBytes(stored.key, REFERENCE_IMAGE_MAX_BYTES);
  const inlineLimit =
    settings.mode === "data-uri" ? settings.inlineMaxBytes || DATA_URI_MAX_BYTES : settings.inlineMaxBytes;
  if ((settings.mode === "auto" || settings.mode === "data-uri") && bytes.byteLength <= inlineLimit) {
    const url = `data:${stored.contentType};base64,${Buffer.from(bytes).toString("base64")}`;
    return { image: { kind: "url", url }, delivery: "data-uri" };
  }
  return {
    image: { kind: "bytes", bytes, contentType: stored.contentType, filename: stored.filename },
    delivery: "upload",
  };
}
