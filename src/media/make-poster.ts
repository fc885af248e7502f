import path from "node:path";
import { runFfmpeg } from "./run-ffmpeg.ts";

/** Width of a poster in pixels; the height follows the video's aspect (even). */
export const POSTER_WIDTH = 640;
/** Frames the `thumbnail` filter compares before it picks the most representative one. */
export const POSTER_SAMPLE_FRAMES = 48;
/**
 * Frames whose mean luma (`signalstats` YAVG, 0-255; video black is 16) is at or below this are not candidates. With
 * `thumbnail=n=48` alone, a 30 fps clip that opens with 1 s of black gave a black poster (30 of the 48 frames were
 * black, so black was "representative"); a clip that is dark throughout falls back to the plain filter.
 */
export const POSTER_BLACK_LUMA = 32;

/** A poster image, small enough to hold in memory (a few KB to a few tens of KB at 640 px). */
export interface Poster {
  bytes: Buffer;
  /** `image/webp`, or `image/jpeg` when the ffmpeg build cannot encode WebP. */
  contentType: "image/webp" | "image/jpeg";
  /** The file extension that goes with `contentType`: `webp` or `jpg`. */
  extension: "webp" | "jpg";
}

/** Options of {@link createPosterMaker}. */
export interface PosterMakerOptions {
  /** The ffmpeg binary (see `locateFfmpeg`). */
  ffmpegPath: string;
}

/** Makes the poster of a local MP4 file. Rejects with an `FfmpegFailure` (or an Error) when none can be made. */
export type MakePoster = (videoPath: string, options?: { signal?: AbortSignal }) => Promise<Poster>;

const WEBP: Omit<Poster, "bytes"> = { contentType: "image/webp", extension: "webp" };
const JPEG: Omit<Poster, "bytes"> = { contentType: "image/jpeg", extension: "jpg" };

/** The `-vf` chain: scale first (every later filter works on a 640 px frame), skip black, then pick a frame. */
export function posterFilter(options: { skipBlack: boolean }): string {
  const filters = [`scale=${POSTER_WIDTH}:-2`];
  if (options.skipBlack) {
    filters.push(
      "signalstats",
      `metadata=mode=select:key=lavfi.signalstats.YAVG:value=${POSTER_BLACK_LUMA}:function=greater`,
    );
  }
  filters.push(`thumbnail=n=${POSTER_SAMPLE_FRAMES}`);
  return filters.join(",");
}

/** The full ffmpeg argument list of one poster attempt, writing the image to stdout (exported for the benchmark). */
export function posterArguments(options: {
  videoPath: string;
  format: "webp" | "jpg";
  skipBlack: boolean;
}): string[] {
  // `file:` and the whitelist keep ffmpeg from reading anything but the local file (as in the conform pass).
  const input = `file:${path.resolve(options.videoPath)}`;
  const encoder =
    options.format === "webp"
      ? ["-c:v", "libwebp", "-quality", "75", "-f", "webp"]
      : ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p", "-f", "image2pipe"];
  return [
    ...["-hide_banner", "-nostats", "-loglevel", "error", "-protocol_whitelist", "file", "-i", input],
    ...["-map", "0:v:0", "-an", "-vf", posterFilter(options), "-frames:v", "1", ...encoder, "pipe:1"],
  ];
}

/** Whether the bytes are a whole WebP (`RIFF....WEBP` and a chunk) or JPEG (SOI ... EOI) image. */
function isImage(bytes: Buffer, format: "webp" | "jpg"): boolean {
  if (format === "webp") {
    return (
      bytes.byteLength > 20 &&
      bytes.toString("latin1", 0, 4) === "RIFF" &&
      bytes.toString("latin1", 8, 12) === "WEBP"
    );
  }
  return (
    bytes.byteLength > 4 &&
    bytes[0] === 0xff &&
    bytes[1] === 0xd8 &&
    bytes[bytes.byteLength - 2] === 0xff &&
    bytes[bytes.byteLength - 1] === 0xd9
  );
}

/**
 * Creates the poster maker: one ffmpeg pass over the start of the clip (`thumbnail` over the first 48 frames that are
 * not black, never frame 0 blindly), scaled to 640 px wide, to WebP. A build without libwebp (checked once per maker
 * with `-encoders`) makes JPEG. When every frame is black (or dark), the pass outputs nothing and a second pass
 * without the black filter picks from all frames.
 */
export function createPosterMaker(options: PosterMakerOptions): MakePoster {
  let webpSupport: Promise<boolean> | undefined;
  const supportsWebp = () => {
    webpSupport ??= runFfmpeg(["-hide_banner", "-encoders"], {
      ffmpegPath: options.ffmpegPath,
      captureOutput: true,
    }).then(
      (output) => /^\s*V\S*\s+libwebp\s/m.test(output.toString("utf8")),
      () => false,
    );
    return webpSupport;
  };

  return async function makePoster(videoPath, callOptions = {}) {
    const kind = (await supportsWebp()) ? WEBP : JPEG;
    for (const skipBlack of [true, false]) {
      const bytes = await runFfmpeg(posterArguments({ videoPath, format: kind.extension, skipBlack }), {
        ffmpegPath: options.ffmpegPath,
        captureOutput: true,
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
      });
      if (isImage(bytes, kind.extension)) return { ...kind, bytes };
    }
    throw new Error(`ffmpeg made no poster image from ${path.basename(videoPath)} (no video frame decoded)`);
  };
}
