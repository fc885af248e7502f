import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { StorageError } from "../errors/storage-error.ts";
import { posterKeyOf } from "../metadata/media-keys.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { MakePoster } from "./make-poster.ts";

/** A poster stored beside its video. */
export interface StoredPoster {
  /** Its object key, `posters/<video base name>.webp` (or `.jpg`). */
  key: string;
  contentType: string;
  /** Size in bytes. */
  bytes: number;
}

/**
 * Makes the poster of a stored video and stores it beside the video, in the same store. ffmpeg reads a local file:
 * the local store's own file directly; an S3 object is streamed into a temporary file first (ffmpeg needs to seek:
 * the moov box may sit at the end), removed on every path. Storing under a deterministic key makes a retry overwrite.
 */
export async function storePoster(input: {
  objectStore: ObjectStore;
  makePoster: MakePoster;
  /** The video's object key, `videos/<name>.mp4`. */
  videoKey: string;
  /** Where the temporary copy of an S3 video goes (default: the system's temporary directory). */
  temporaryDirectory?: string;
  signal?: AbortSignal;
}): Promise<StoredPoster> {
  const { objectStore, videoKey, signal } = input;
  const callOptions = signal ? { signal } : {};
  if (!(await objectStore.stat(videoKey))) {
    throw new StorageError(`the video ${videoKey} is not in the store`, {
      code: "object_not_found",
      retryable: false,
    });
  }
  const poster =
    objectStore.kind === "local"
      ? await input.makePoster(fileURLToPath(objectStore.uriFor(videoKey)), callOptions)
      : await withTemporaryCopy(input, (videoPath) => input.makePoster(videoPath, callOptions));
  const key = posterKeyOf(videoKey, poster.extension);
  await objectStore.putBytes(key, poster.bytes, poster.contentType);
  return { key, contentType: poster.contentType, bytes: poster.bytes.byteLength };
}

async function withTemporaryCopy<T>(
  input: { objectStore: ObjectStore; videoKey: string; temporaryDirectory?: string; signal?: AbortSignal },
  use: (videoPath: string) => Promise<T>,
): Promise<T> {
  const directory = await mkdtemp(path.join(input.temporaryDirectory ?? tmpdir(), "video-gen-poster-"));
  try {
    const videoPath = path.join(directory, "video.mp4");
    const opened = await input.objectStore.openRead(input.videoKey);
    await pipeline(
      opened.body,
      createWriteStream(videoPath),
      ...(input.signal ? [{ signal: input.signal }] : []),
    );
    return await use(videoPath);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
