import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerationRecord } from "./generation-record.ts";

/**
 * The object key of a stored video, from its storage URI: `videos/<base name>`. Videos are stored under `videos/`
 * (`videos/<cache key>.mp4`, or `videos/<generation id>.mp4` for `bypass`), and the URI carries the store's own
 * prefix or directory, which the key does not. Null when the URI names no file.
 */
export function videoKeyOfStorageUri(storageUri: string): string | null {
  let name: string;
  try {
    name = storageUri.startsWith("file:")
      ? path.basename(fileURLToPath(storageUri))
      : (storageUri.split("/").at(-1) ?? "");
  } catch {
    return null;
  }
  return name === "" || name === "." || name === ".." ? null : `videos/${name}`;
}

/** The object key of a record's video (`videos/<base name of result.storage_uri>`); null when it has no result. */
export function videoKeyOfRecord(record: Pick<GenerationRecord, "result">): string | null {
  return record.result ? videoKeyOfStorageUri(record.result.storage_uri) : null;
}

/** Where the poster of a video lives: beside it under `posters/`, same base name, e.g. `posters/<cache key>.webp`. */
export function posterKeyOf(videoKey: string, extension: "webp" | "jpg"): string {
  const base = path.posix.basename(videoKey).replace(/\.mp4$/i, "");
  return `posters/${base}.${extension}`;
}
