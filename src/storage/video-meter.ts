import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { StorageError } from "../errors/index.ts";
import type { MediaInfo } from "../media/media-info.ts";
import { createMp4Probe } from "../media/mp4-probe.ts";

/** What a meter measured once its stream has ended. */
export interface VideoMeasurement {
  bytes: number;
  /** sha256 of every byte that passed, hex. */
  sha256: string;
  media: MediaInfo;
}

export interface VideoMeter {
  /** Pass the video through this: it errors past `maxBytes`, and on bytes that are not an MP4 before it ends. */
  stream: Transform;
  /** The measurement; only after `stream` has ended. */
  result(): VideoMeasurement;
}

/**
 * Measures a video on its way into a store: byte count, sha256 and the MP4 probe. The checks run inside the stream,
 * so a writer downstream (a multipart upload, a temporary file) sees an error instead of an end, and never commits
 * a body that failed them.
 */
export function createVideoMeter(options: { maxBytes: number }): VideoMeter {
  const hash = createHash("sha256");
  const probe = createMp4Probe();
  let bytes = 0;
  let measurement: VideoMeasurement | undefined;
  // Default highWaterMarks (16 KiB): the consumer, lib-storage, gathers whole parts anyway. A read-ahead of 1 MiB or
  // of a whole 5 MiB part here kept slightly more parts in flight but copied no faster against s3rver, and costs
  // its size in memory.
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.byteLength;
      if (bytes > options.maxBytes) {
        callback(
          new StorageError(`the video exceeds the cap of ${options.maxBytes} bytes`, {
            code: "too_large",
            retryable: false,
          }),
        );
        return;
      }
      try {
        hash.update(chunk);
        probe.push(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      try {
        measurement = { bytes, sha256: hash.digest("hex"), media: probe.finish() };
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  return {
    stream,
    result() {
      if (!measurement)
        throw new StorageError("the video was not measured to its end", { code: "incomplete_copy" });
      return measurement;
    },
  };
}
