import { computeCacheKey, deriveSeed } from "../../contract/cache-key.ts";
import type { GenerationWarning } from "../../contract/generation-warning.ts";
import { type GenerationPlan, planForImage } from "../../contract/plan-generation.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/**
 * Where the image to submit lives between steps: a copy in the object store, content-addressed, which the submit
 * step (maybe in another process, after a restart) delivers by the route the settings choose. (`url`: what runs
 * resolved before every image was stored carry.)
 */
export type ImageReference =
  | { kind: "url"; url: string }
  | {
      kind: "stored";
      key: string;
      contentType: string;
      filename: string;
      /** The request's own reference is a public https URL of exactly these bytes: the provider can fetch it. */
      ownUrl: boolean;
    };

/** What `resolve-image` hands to the later steps (JSON). */
export interface ResolvedGeneration {
  cacheKey: string;
  seed: number;
  imageSha256: string;
  image: ImageReference;
  /** Where the video will be stored: content-addressed by the cache key (`bypass`: by the generation id). */
  objectKey: string;
  warnings: GenerationWarning[];
}

/**
 * Step `resolve-image`: reads and checks the reference image, applies the conform crop, computes the cache key, and
 * leaves the image where the submit step (maybe in another process, after a restart) can find it.
 */
export async function resolveGenerationImage(input: {
  generationId: string;
  plan: GenerationPlan;
  /** The raw values from the event (the plan carries them redacted). */
  referenceImage: string;
  audioUrl: string | undefined;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<ResolvedGeneration> {
  const { plan, generationId, dependencies } = input;
  await input.progress(generationId, "resolve-image");
  const original = await dependencies.resolveImage(input.referenceImage);
  const imagePlan = planForImage(plan, original);
  const image =
    imagePlan.cropToAspect === undefined
      ? original
      : await dependencies.cropImage(original, imagePlan.cropToAspect);
  const cacheKey = computeCacheKey(
    { ...plan, request: { ...plan.request, audio_url: input.audioUrl } },
    image.sha256,
  );
  // Kept in the store, content-addressed: the submit step reads or presigns it, and a replay finds it there. The
  // request's own URL never lands in a step output (it may be presigned); the submit step reads it from the event.
  const key = `images/${image.sha256}.${image.format === "jpeg" ? "jpg" : image.format}`;
  await dependencies.objectStore.putBytes(key, image.bytes, image.contentType);
  // Recorded at once, so even a generation that fails later shows its reference image to operators.
  await dependencies.metadataStore.recordImageKey(generationId, key);
  const reference: ImageReference = {
    kind: "stored",
    key,
    contentType: image.contentType,
    filename: key.slice("images/".length),
    ownUrl: image.publicUrl !== undefined,
  };
  return {
    cacheKey,
    seed: plan.request.seed ?? deriveSeed(cacheKey),
    imageSha256: image.sha256,
    image: reference,
    objectKey: plan.cacheMode === "bypass" ? `videos/${generationId}.mp4` : `videos/${cacheKey}.mp4`,
    warnings: [...plan.warnings, ...original.warnings, ...imagePlan.warnings],
  };
}
