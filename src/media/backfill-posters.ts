import type { GenerationRecord } from "../metadata/generation-record.ts";
import { posterKeyOf, videoKeyOfRecord } from "../metadata/media-keys.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { MakePoster } from "./make-poster.ts";
import { storePoster } from "./store-poster.ts";

/** Records read per listing of the backfill. */
const PAGE_SIZE = 100;
/** Extensions the stage stores reference images under (`images/<sha256>.<ext>`), most common first. */
const IMAGE_EXTENSIONS = ["jpg", "png", "webp", "bmp"] as const;

/** What a poster backfill did. */
export interface PosterBackfillSummary {
  /** Succeeded records without a poster that were looked at (at most the limit). */
  examined: number;
  /** Posters made and stored. */
  made: number;
  /** Records given a poster that already existed beside their video (a shared video, or an earlier run). */
  reused: number;
  /** Records whose video is not in the store (deleted), or whose result names none. */
  missingVideo: number;
  /** Records for which making the poster failed (see `onFailure`). */
  failed: number;
}

/** What an image-key backfill did. */
export interface ImageKeyBackfillSummary {
  examined: number;
  /** Records whose stored image was found and recorded. */
  recorded: number;
  /** Records whose image copy is not in the store under any extension. */
  notFound: number;
}

/** Pages through `listMissingMedia`, newest first, until `limit` records were handed to `each`. */
async function forEachMissing(
  metadataStore: MetadataStore,
  missing: "poster" | "image",
  limit: number,
  each: (record: GenerationRecord) => Promise<void>,
): Promise<number> {
  let examined = 0;
  let before: { createdAt: string; generationId: string } | undefined;
  while (examined < limit) {
    const page = await metadataStore.listMissingMedia({
      missing,
      limit: Math.min(PAGE_SIZE, limit - examined),
      ...(before ? { before } : {}),
    });
    if (page.length === 0) break;
    for (const record of page) {
      examined++;
      await each(record);
    }
    const last = page.at(-1)!;
    before = { createdAt: last.createdAt, generationId: last.generationId };
  }
  return examined;
}

/**
 * Gives succeeded records without a poster one: an existing poster beside their video is reused (records that share a
 * video, e.g. cache hits, get it made once), otherwise it is made and stored. Idempotent: a second run finds only the
 * records that failed. A failure is reported through `onFailure` and the backfill goes on.
 */
export async function backfillPosters(input: {
  metadataStore: MetadataStore;
  objectStore: ObjectStore;
  makePoster: MakePoster;
  /** Most records to look at. */
  limit: number;
  onFailure?(generationId: string, reason: string): void;
}): Promise<PosterBackfillSummary> {
  const { metadataStore, objectStore } = input;
  const summary: PosterBackfillSummary = { examined: 0, made: 0, reused: 0, missingVideo: 0, failed: 0 };
  summary.examined = await forEachMissing(metadataStore, "poster", input.limit, async (record) => {
    const videoKey = videoKeyOfRecord(record);
    try {
      if (!videoKey || !(await objectStore.exists(videoKey))) {
        summary.missingVideo++;
        return;
      }
      const existing = await findExisting(objectStore, videoKey);
      if (existing) {
        await metadataStore.recordPoster(record.generationId, existing);
        summary.reused++;
        return;
      }
      const stored = await storePoster({ objectStore, makePoster: input.makePoster, videoKey });
      await metadataStore.recordPoster(record.generationId, stored.key);
      summary.made++;
    } catch (error) {
      summary.failed++;
      input.onFailure?.(record.generationId, error instanceof Error ? error.message : String(error));
    }
  });
  return summary;
}

async function findExisting(objectStore: ObjectStore, videoKey: string): Promise<string | undefined> {
  for (const extension of ["webp", "jpg"] as const) {
    const key = posterKeyOf(videoKey, extension);
    if (await objectStore.exists(key)) return key;
  }
  return undefined;
}

/**
 * Records the image key of records made before it was recorded: the stored copy is `images/<sha256>.<ext>`, and the
 * extension (the format it was stored in) is found in the store.
 */
export async function backfillImageKeys(input: {
  metadataStore: MetadataStore;
  objectStore: ObjectStore;
  limit: number;
}): Promise<ImageKeyBackfillSummary> {
  const summary: ImageKeyBackfillSummary = { examined: 0, recorded: 0, notFound: 0 };
  summary.examined = await forEachMissing(input.metadataStore, "image", input.limit, async (record) => {
    for (const extension of IMAGE_EXTENSIONS) {
      const key = `images/${record.imageSha256}.${extension}`;
      if (await input.objectStore.exists(key)) {
        await input.metadataStore.recordImageKey(record.generationId, key);
        summary.recorded++;
        return;
      }
    }
    summary.notFound++;
  });
  return summary;
}
