import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createFile, type Movie, MP4BoxBuffer } from "mp4box";
import { StorageError } from "../errors/index.ts";
import type { MediaInfo } from "./media-info.ts";

/**
 * A pass-through MP4 probe: give it every chunk of a body in order, then ask for the result.
 *
 * It walks the top-level boxes as the bytes go by and keeps only the two it needs, `ftyp` and `moov` (a few KB for
 * a short clip), which mp4box parses at the end. Memory stays bounded whatever the file size and wherever the moov
 * box sits (before the media data with faststart, after it without), so the stored bytes are probed in the same
 * pass that stores them: no second read.
 */
export interface Mp4Probe {
  /** Feeds the next chunk. Throws a `not_mp4` StorageError as soon as the bytes cannot be an MP4. */
  push(chunk: Uint8Array): void;
  /** After the last chunk: the media info, or a `not_mp4` StorageError (no moov box, truncated box, no video). */
  finish(): MediaInfo;
}

/** Largest `moov` box kept (a 15 s clip has well under 1 MB of sample tables). */
const MAX_MOOV_BYTES = 32 * 1024 * 1024;
const MAX_FTYP_BYTES = 4096;
const BOX_HEADER_BYTES = 16;

function notMp4(detail: string): StorageError {
  return new StorageError(`the body is not a usable MP4: ${detail}`, { code: "not_mp4", retryable: false });
}

interface Capture {
  type: "ftyp" | "moov";
  start: number;
  end: number;
  chunks: Buffer[];
}

/** Creates a probe for one body (see {@link Mp4Probe}). */
export function createMp4Probe(): Mp4Probe {
  let received = 0;
  let nextBoxStart = 0;
  let boxCount = 0;
  /** Header bytes of the box at `nextBoxStart` gathered across chunk boundaries. */
  let pendingHeader = Buffer.alloc(0);
  let toEndOfFile = false;
  const captures: Capture[] = [];

  function readHeaders(chunk: Buffer, chunkStart: number) {
    const chunkEnd = chunkStart + chunk.byteLength;
    while (!toEndOfFile && nextBoxStart < chunkEnd) {
      const from = Math.max(nextBoxStart + pendingHeader.byteLength, chunkStart) - chunkStart;
      pendingHeader = Buffer.concat([
        pendingHeader,
        chunk.subarray(from, from + BOX_HEADER_BYTES - pendingHeader.byteLength),
      ]);
      if (pendingHeader.byteLength < 8) return;
      const size32 = pendingHeader.readUInt32BE(0);
      const type = pendingHeader.toString("latin1", 4, 8);
      if (size32 === 1 && pendingHeader.byteLength < 16) return;
      const size = size32 === 1 ? Number(pendingHeader.readBigUInt64BE(8)) : size32;
      const header = pendingHeader;
      pendingHeader = Buffer.alloc(0);
      if (boxCount === 0 && type !== "ftyp")
        throw notMp4(`it starts with "${printable(type)}", not an ftyp box`);
      boxCount += 1;
      if (size32 === 0) {
        toEndOfFile = true;
        return;
      }
      if (size < 8)
        throw notMp4(`box "${printable(type)}" at byte ${nextBoxStart} has an invalid size ${size}`);
      if (type === "ftyp" || type === "moov") {
        const limit = type === "ftyp" ? MAX_FTYP_BYTES : MAX_MOOV_BYTES;
        if (size > limit) throw notMp4(`its ${type} box is ${size} bytes, over ${limit}`);
        if (!captures.some((capture) => capture.type === type)) {
          // Header bytes that arrived in earlier chunks are not in this one: keep them from the assembled header.
          const earlier = Math.max(0, chunkStart - nextBoxStart);
          const chunks = earlier > 0 ? [Buffer.from(header.subarray(0, earlier))] : [];
          captures.push({ type, start: nextBoxStart, end: nextBoxStart + size, chunks });
        }
      }
      nextBoxStart += size;
    }
  }

  function keepCaptured(chunk: Buffer, chunkStart: number) {
    const chunkEnd = chunkStart + chunk.byteLength;
    for (const capture of captures) {
      const from = Math.max(capture.start, chunkStart);
      const to = Math.min(capture.end, chunkEnd);
      // Copy: the chunk's memory may be a pooled slab much larger than the slice.
      if (from < to) capture.chunks.push(Buffer.from(chunk.subarray(from - chunkStart, to - chunkStart)));
    }
  }

  return {
    push(data) {
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const chunkStart = received;
      received += chunk.byteLength;
      readHeaders(chunk, chunkStart);
      keepCaptured(chunk, chunkStart);
    },
    finish() {
      if (received === 0) throw notMp4("it is empty");
      if (boxCount === 0 || pendingHeader.byteLength > 0 || (!toEndOfFile && nextBoxStart !== received)) {
        throw notMp4(
          `it ends inside a box (${received} bytes received, the last box ends at byte ${nextBoxStart})`,
        );
      }
      const ftyp = captures.find((capture) => capture.type === "ftyp");
      const moov = captures.find((capture) => capture.type === "moov");
      if (!ftyp || !moov) throw notMp4("it has no moov box");
      return parseMovie(Buffer.concat([...ftyp.chunks, ...moov.chunks]));
    },
  };
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}

/** Parses `ftyp` + `moov` bytes with mp4box. */
function parseMovie(bytes: Buffer): MediaInfo {
  const file = createFile();
  let movie: Movie | undefined;
  let failure: string | undefined;
  file.onReady = (info) => {
    movie = info;
  };
  file.onError = (module, message) => {
    failure = `${module}: ${message}`;
  };
  // mp4box wants an ArrayBuffer of its own (Node Buffers may share a pooled one).
  const own = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(own, 0));
    file.flush();
  } catch (error) {
    throw notMp4(`its moov box cannot be parsed (${(error as Error).message})`);
  }
  if (failure || !movie) throw notMp4(`its moov box cannot be parsed${failure ? ` (${failure})` : ""}`);
  return toMediaInfo(movie);
}

function toMediaInfo(movie: Movie): MediaInfo {
  const video = movie.videoTracks[0];
  if (!video) throw notMp4("it has no video track");
  const audio = movie.audioTracks[0];
  // The sample durations give the frame rate of what plays; the track header may include an edit list's offset.
  const trackTicks = video.samples_duration > 0 ? video.samples_duration : video.duration;
  const trackSeconds = video.timescale > 0 ? trackTicks / video.timescale : 0;
  const durationSeconds = movie.timescale > 0 ? movie.duration / movie.timescale : trackSeconds;
  return {
    durationSeconds,
    fps: trackSeconds > 0 ? video.nb_samples / trackSeconds : 0,
    frames: video.nb_samples,
    width: video.video?.width ?? video.track_width,
    height: video.video?.height ?? video.track_height,
    videoCodec: video.codec,
    hasAudio: audio !== undefined,
    ...(audio ? { audioCodec: audio.codec } : {}),
  };
}

/** Probes a whole stream (reading it to the end, in bounded memory). */
export async function probeMp4Stream(readable: Readable | AsyncIterable<Uint8Array>): Promise<MediaInfo> {
  const probe = createMp4Probe();
  for await (const chunk of readable as AsyncIterable<Uint8Array>) probe.push(chunk);
  return probe.finish();
}

/** Probes a local MP4 file. */
export async function probeMp4File(path: string): Promise<MediaInfo> {
  return probeMp4Stream(createReadStream(path, { highWaterMark: 1024 * 1024 }));
}
