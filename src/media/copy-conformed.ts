import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { SafeFetcher } from "../net/safe-fetch.ts";
import type { ObjectStore, StoredVideo } from "../storage/object-store.ts";
import { conformVideo } from "./conform-video.ts";

/** One conformed copy: the provider's result URL, the store key, and the output the request asked for. */
export interface ConformedCopyInput {
  sourceUrl: string;
  key: string;
  /** Output frames per second; absent keeps the model's. */
  fps?: number;
  /** Output width and height in pixels (even); absent keeps the model's frame. */
  width?: number;
  height?: number;
  signal?: AbortSignal;
}

export interface ConformedCopyOptions {
  ffmpegPath: string;
  fetcher: SafeFetcher;
  objectStore: ObjectStore;
  /** Where the two temporary files go (default: the system's temporary directory). */
  temporaryDirectory?: string;
}

/**
 * The conform policy's copy: download the provider's result (guarded, capped), one ffmpeg pass to the requested fps
 * and size, then store the output (probed and hashed by the store). ffmpeg needs a seekable input (the moov box may
 * sit at the end) and writes faststart output in a second pass over its file, so both sides are temporary files,
 * removed on every path.
 */
export function createConformedCopy(options: ConformedCopyOptions) {
  return async function copyConformed(input: ConformedCopyInput): Promise<StoredVideo> {
    const workDirectory = await mkdtemp(
      path.join(options.temporaryDirectory ?? tmpdir(), "video-gen-conform-"),
    );
    try {
      const sourcePath = path.join(workDirectory, "source.mp4");
      const outputPath = path.join(workDirectory, "conformed.mp4");
      const download = await options.fetcher.open(input.sourceUrl, {
        signal: input.signal,
        subject: "result",
      });
      await pipeline(download.body, createWriteStream(sourcePath), { signal: input.signal });
      await conformVideo({
        ffmpegPath: options.ffmpegPath,
        inputPath: sourcePath,
        outputPath,
        fps: input.fps,
        width: input.width,
        height: input.height,
        signal: input.signal,
      });
      return await options.objectStore.putVideoFile(outputPath, input.key, { signal: input.signal });
    } finally {
      await rm(workDirectory, { recursive: true, force: true });
    }
  };
}
