import { fileURLToPath } from "node:url";
import { InputError } from "../errors/input-error.ts";
import type { GenerationRecord } from "../metadata/generation-record.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ObjectStore } from "../storage/object-store.ts";

const STORED_IMAGE_EXTENSIONS = ["jpg", "png", "bmp", "webp"];

/** A recorded request made ready to run again. */
export interface ReplayRequest {
  /** The request to send or run: the recorded one with a new `generation_id`, the cache mode and a usable image. */
  request: Record<string, unknown> & { generation_id: string };
  generationId: string;
  /** Set when the stored copy of the image replaces the recorded reference (said to the operator). */
  imageNote?: string;
}

/** The first free `<id>-replay-<n>`. */
async function nextReplayId(metadataStore: Pick<MetadataStore, "get">, id: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = `${id}-replay-${n}`;
    if (!(await metadataStore.get(candidate))) return candidate;
  }
}

/**
 * The image to replay with. A data: URI is not kept in the record (only a description), and a signed URL lost its
 * query (a secret): then the copy the stage stored under images/<sha256>.<ext> is used.
 */
async function replayImage(
  record: GenerationRecord,
  objectStore: Pick<ObjectStore, "exists" | "uriFor">,
): Promise<{ image: string; note?: string }> {
  const recorded = String(record.request.reference_image ?? "");
  if (recorded && !recorded.startsWith("data:") && !recorded.includes("<redacted>"))
    return { image: recorded };
  const why = recorded.startsWith("data:")
    ? "was a data: URI, which is not kept"
    : "was a signed URL whose signature is not kept";
  if (record.imageSha256) {
    for (const extension of STORED_IMAGE_EXTENSIONS) {
      const key = `images/${record.imageSha256}.${extension}`;
      if (await objectStore.exists(key)) {
        const uri = objectStore.uriFor(key);
        const image = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
        return {
          image,
          note: `the recorded reference image ${why}; replaying with the stored copy ${image}`,
        };
      }
    }
  }
  throw InputError.forField(
    "reference_image",
    `generation ${record.generationId} cannot be replayed: its reference image ${why}, and no stored copy of it exists (images/${record.imageSha256 ?? "?"}.*)`,
  );
}

/**
 * Builds the request that replays a recorded generation as `<id>-replay-<n>`: the cache answers it unless `force`
 * (then it renders, and bills, again). Used by `video-gen replay` (in process) and the gallery (as an event).
 */
export async function prepareReplay(input: {
  generationId: string;
  force: boolean;
  metadataStore: Pick<MetadataStore, "get">;
  objectStore: Pick<ObjectStore, "exists" | "uriFor">;
}): Promise<ReplayRequest> {
  const record = await input.metadataStore.get(input.generationId);
  if (!record) {
    throw InputError.forField(
      "id",
      `no generation ${JSON.stringify(input.generationId)} is recorded (see video-gen list)`,
    );
  }
  const generationId = await nextReplayId(input.metadataStore, input.generationId);
  const { image, note } = await replayImage(record, input.objectStore);
  return {
    generationId,
    imageNote: note,
    request: {
      ...record.request,
      reference_image: image,
      cache: input.force ? "refresh" : "use",
      generation_id: generationId,
    },
  };
}
