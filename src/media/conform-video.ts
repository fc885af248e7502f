import { rm } from "node:fs/promises";
import path from "node:path";
import { ASPECT_TOLERANCE } from "../contract/plan-generation.ts";
import { StorageError } from "../errors/storage-error.ts";
import { FfmpegFailure, runFfmpeg } from "./run-ffmpeg.ts";

/**
 * x264 settings of the conform pass. The input is already a lossy H.264 render, so this second generation must be
 * close to transparent: CRF 18 is x264's customary "visually lossless" point. Preset `fast` keeps most of `medium`'s
 * analysis (sub-pixel refinement, trellis) for about 87 % of its CPU; `veryfast` halves the CPU again but drops
 * trellis and most refinement, which shows on a re-encode. Measured (bench/results/conform.md): about 1.4 CPU-seconds
 * per output second at 1080P and 0.5-0.6 at 720P, seconds beside a render that takes minutes.
 */
export const CONFORM_X264 = { preset: "fast", crf: 18 } as const;

export interface ConformVideoOptions {
  /** The ffmpeg binary (see `locateFfmpeg`). */
  ffmpegPath: string;
  /** The MP4 to read. */
  inputPath: string;
  /** Where to write the MP4; overwritten if present, removed when the pass fails. */
  outputPath: string;
  /** Output frame rate (frames per second, > 0). Absent: the input's rate is kept. */
  fps?: number;
  /** Output width in pixels, even. Needs `height`. Absent: the input's size is kept. */
  width?: number;
  /** Output height in pixels, even. Needs `width`. */
  height?: number;
  /** Aborting kills ffmpeg and removes the partial output. */
  signal?: AbortSignal;
}

/**
 * The `-vf` chain. Frames are resampled by the `fps` filter (duplicated or dropped on the output grid, never blended,
 * so the duration is unchanged). The scale covers the target and a centered crop trims the overhang, so a frame whose
 * aspect differs from the target is cropped rather than letterboxed or stretched; within `ASPECT_TOLERANCE` the scale
 * is exact and the crop does nothing. Expressions instead of a probe keep this one pass; they need nothing newer than
 * ffmpeg 4.1.
 */
export function conformFilter(options: Pick<ConformVideoOptions, "fps" | "width" | "height">): string {
  const filters: string[] = [];
  if (options.fps !== undefined) filters.push(`fps=fps=${options.fps}`);
  const { width, height } = options;
  if (width !== undefined && height !== undefined) {
    const target = `(${width}/${height})`;
    const close = `lt(abs(iw/ih/${target}-1)\\,${ASPECT_TOLERANCE})`;
    const wider = `gt(iw/ih\\,${target})`;
    const scaleWidth = `if(${close}\\,${width}\\,if(${wider}\\,ceil(${height}*iw/ih)\\,${width}))`;
    const scaleHeight = `if(${close}\\,${height}\\,if(${wider}\\,${height}\\,ceil(${width}*ih/iw)))`;
    filters.push(`scale=w=${scaleWidth}:h=${scaleHeight}:flags=bicubic`, `crop=${width}:${height}`);
  }
  filters.push("setsar=1", "format=yuv420p");
  return filters.join(",");
}

/** The full ffmpeg argument list of the conform pass (exported for the benchmark). */
export function conformArguments(options: Omit<ConformVideoOptions, "ffmpegPath" | "signal">): string[] {
  // `file:` and the whitelist keep ffmpeg from reading anything but local files, whatever the paths or the MP4's
  // references say (an input name such as `http://...` or `concat:...` would otherwise select another protocol).
  const input = `file:${path.resolve(options.inputPath)}`;
  const output = `file:${path.resolve(options.outputPath)}`;
  return [
    ...["-hide_banner", "-nostats", "-loglevel", "error", "-y", "-protocol_whitelist", "file", "-i", input],
    ...["-map", "0:v:0", "-map", "0:a?", "-vf", conformFilter(options)],
    ...[
      "-c:v",
      "libx264",
      "-preset",
      CONFORM_X264.preset,
      "-crf",
      String(CONFORM_X264.crf),
      "-pix_fmt",
      "yuv420p",
    ],
    ...["-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", output],
  ];
}

function validate(options: ConformVideoOptions): void {
  const { fps, width, height } = options;
  const problems: string[] = [];
  if (fps !== undefined && !(Number.isFinite(fps) && fps > 0)) problems.push(`fps must be > 0, got ${fps}`);
  if ((width === undefined) !== (height === undefined))
    problems.push("width and height must be given together");
  for (const [name, side] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (side !== undefined && !(Number.isInteger(side) && side >= 2 && side % 2 === 0)) {
      problems.push(`${name} must be an even whole number of pixels (H.264 4:2:0), got ${side}`);
    }
  }
  if (problems.length > 0) {
    throw new StorageError(`conform pass not started: ${problems.join("; ")}`, {
      code: "conform_failed",
      retryable: false,
    });
  }
}

/**
 * One ffmpeg pass that makes a rendered MP4 honour the request: exactly `fps` frames per second and exactly
 * `width`×`height` (cover-scale and center-crop when the aspect differs by more than 1 %), square pixels, H.264
 * yuv420p with `+faststart`, audio copied untouched when present. The frame count is round(duration × fps).
 * Throws `StorageError` `conform_failed` (retryable only when ffmpeg was killed by a signal, e.g. the OOM killer or an
 * abort) with the end of ffmpeg's stderr; the output file never survives a failure.
 */
export async function conformVideo(options: ConformVideoOptions): Promise<void> {
  validate(options);
  try {
    await runFfmpeg(conformArguments(options), { ffmpegPath: options.ffmpegPath, signal: options.signal });
  } catch (error) {
    await rm(options.outputPath, { force: true });
    const failure = error instanceof FfmpegFailure ? error : undefined;
    throw new StorageError(`conform pass failed: ${error instanceof Error ? error.message : String(error)}`, {
      code: "conform_failed",
      retryable: failure?.signal != null || failure?.aborted === true,
      cause: error,
    });
  }
}
