import { computeCacheKey, deriveSeed } from "../../contract/cache-key.ts";
import type { GenerationWarning } from "../../contract/generation-warning.ts";
import { type GenerationPlan, planForImage } from "../../contract/plan-generation.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/** Where the image to submit lives between steps: a URL the provider fetches, or a copy in the object store. */
export type ImageReference =
  | { kind: "url"; url: string }
  | { kind: "stored"; key: string; contentType: string; filename: string };

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
  let reference: ImageReference;
  // A URL with a query string may be presigned: it must not land in a step output, so its bytes go by upload.
  if (image.publicUrl && !new URL(image.publicUrl).search) {
    reference = { kind: "url", url: image.publicUrl };
  } else {
    // Kept in the store, content-addressed, so submit (maybe in another process, after a restart) can read it.
    const key = `images/${image.sha256}.${image.format === "jpeg" ? "jpg" : image.format}`;
    await dependencies.objectStore.putBytes(key, image.bytes, image.contentType);
    reference = {
      kind: "stored",
      key,
      contentType: image.contentType,
      filename: key.slice("images/".length),
    };
  }
  return {
    cacheKey,
    seed: plan.request.seed ?? deriveSeed(cacheKey),
    imageSha256: image.sha256,
    image: reference,
    objectKey: plan.cacheMode === "bypass" ? `videos/${generationId}.mp4` : `videos/${cacheKey}.mp4`,
    warnings: [...plan.warnings, ...original.warnings, ...imagePlan.warnings],
  };
}
