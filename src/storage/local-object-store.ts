import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { isVideoGenerationError, StorageError } from "../errors/index.ts";
import type { SafeFetcher } from "../net/safe-fetch.ts";
import { assertValidKey } from "./object-key.ts";
import { assertValidRange, clampRange, contentTypeOfKey, objectNotFound } from "./object-read.ts";
import type { ObjectStore, StoredVideo } from "./object-store.ts";
import { createVideoMeter } from "./video-meter.ts";

export interface LocalObjectStoreOptions {
  /** Directory objects live under (`OUTPUT_DIR`): key `videos/x.mp4` is the file `<rootDir>/videos/x.mp4`. */
  rootDir: string;
  /** Downloads the provider's result URL. */
  fetcher: SafeFetcher;
  /** Largest video accepted, in bytes. */
  maxVideoBytes: number;
}

const VIDEO_CONTENT_TYPE = "video/mp4";

function fileError(error: unknown, operation: string, path: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  // A full disk or a permission problem needs a person; other I/O failures may pass.
  const permanent = code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOSPC";
  return new StorageError(`cannot ${operation} ${path}: ${code ?? (error as Error).message}`, {
    code: permanent ? "local_io_permanent" : "local_io_failed",
    retryable: !permanent,
    cause: error,
  });
}

/**
 * Creates the local-directory result store. Writes go to a temporary name in the target's directory, are flushed to
 * disk, then renamed over the final name: a crash or a failed check never leaves a partial file under the final name.
 */
export function createLocalObjectStore(options: LocalObjectStoreOptions): ObjectStore {
  const rootDir = resolve(options.rootDir);
  const pathFor = (key: string) => {
    assertValidKey(key);
    return resolve(rootDir, key);
  };
  const urlFor = (key: string) => pathToFileURL(pathFor(key)).href;
  const temporaryPathFor = (path: string) =>
    resolve(dirname(path), `.${basename(path)}.${randomUUID()}.partial`);

  /** Writes through a temporary file; `write` fills it, `check` runs before the rename. */
  async function writeAtomically(path: string, write: (temporaryPath: string) => Promise<void>) {
    await mkdir(dirname(path), { recursive: true }).catch((error) =>
      Promise.reject(fileError(error, "create", dirname(path))),
    );
    const temporaryPath = temporaryPathFor(path);
    try {
      await write(temporaryPath);
      const handle = await open(temporaryPath, "r+");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporaryPath, path);
    } catch (error) {
      await rm(temporaryPath, { force: true });
      throw error;
    }
  }

  async function storeVideo(
    source: Readable,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<StoredVideo> {
    const path = pathFor(key);
    const meter = createVideoMeter({ maxBytes: options.maxVideoBytes });
    try {
      await writeAtomically(path, (temporaryPath) =>
        pipeline(
          source,
          meter.stream,
          createWriteStream(temporaryPath, { flags: "wx" }),
          ...(signal ? [{ signal }] : []),
        ),
      );
    } catch (error) {
      const cause = meter.stream.errored ?? error;
      if (isVideoGenerationError(cause)) throw cause;
      if (signal?.aborted)
        throw new StorageError(`copy to ${path} was aborted`, { code: "aborted", retryable: false });
      throw fileError(cause, "write", path);
    }
    const measured = meter.result();
    return {
      key,
      uri: urlFor(key),
      url: urlFor(key),
      bytes: measured.bytes,
      sha256: measured.sha256,
      contentType: VIDEO_CONTENT_TYPE,
      media: measured.media,
    };
  }

  return {
    kind: "local",
    async copyFromUrl(url, key, callOptions = {}) {
      pathFor(key);
      const opened = await options.fetcher.open(url, {
        maxBytes: options.maxVideoBytes,
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
      });
      return storeVideo(opened.body, key, callOptions.signal);
    },
    async putVideoFile(path, key, callOptions = {}) {
      pathFor(key);
      return storeVideo(createReadStream(path, { highWaterMark: 1024 * 1024 }), key, callOptions.signal);
    },
    async putBytes(key, bytes) {
      const path = pathFor(key);
      await writeAtomically(path, (temporaryPath) => writeFile(temporaryPath, bytes, { flag: "wx" })).catch(
        (error) => Promise.reject(fileError(error, "write", path)),
      );
    },
    async getBytes(key, maxBytes) {
      const path = pathFor(key);
      const size = await stat(path).then(
        (stats) => stats.size,
        (error) => Promise.reject(fileError(error, "read", path)),
      );
      if (size > maxBytes) {
        throw new StorageError(`${path} has ${size} bytes, over the cap of ${maxBytes}`, {
          code: "too_large",
          retryable: false,
        });
      }
      return new Uint8Array(
        await readFile(path).catch((error) => Promise.reject(fileError(error, "read", path))),
      );
    },
    async exists(key) {
      const path = pathFor(key);
      try {
        return (await stat(path)).isFile();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw fileError(error, "stat", path);
      }
    },
    async stat(key) {
      const path = pathFor(key);
      try {
        const stats = await stat(path);
        return stats.isFile() ? { bytes: stats.size, contentType: contentTypeOfKey(key) } : null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw fileError(error, "stat", path);
      }
    },
    async openRead(key, range) {
      const path = pathFor(key);
      assertValidRange(range);
      // The size comes from the open handle, so a file replaced between the check and the read cannot mix.
      const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) =>
        Promise.reject(error.code === "ENOENT" ? objectNotFound(path) : fileError(error, "open", path)),
      );
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw objectNotFound(path);
        const served = range ? clampRange(range, stats.size, path) : undefined;
        const body = handle.createReadStream({
          ...(served ? { start: served.start, end: served.end } : {}),
          highWaterMark: 256 * 1024,
        });
        return {
          body,
          bytes: stats.size,
          contentType: contentTypeOfKey(key),
          ...(served ? { range: served } : {}),
        };
      } catch (error) {
        await handle.close();
        throw fileError(error, "read", path);
      }
    },
    async delete(key) {
      const path = pathFor(key);
      await rm(path, { force: true }).catch((error) => Promise.reject(fileError(error, "delete", path)));
    },
    urlFor,
    uriFor: urlFor,
    async presign(key) {
      return urlFor(key);
    },
  };
}
