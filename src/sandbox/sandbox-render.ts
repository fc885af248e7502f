import { execFile } from "node:child_process";
import { WAN_MODEL_FPS } from "../contract/wan-model.ts";
import { createRenderReuse } from "./sandbox-render-reuse.ts";

/** One clip to render from a still image. */
export interface RenderJob {
  /** The submitted image as a file ffmpeg can read (JPEG, PNG, BMP or WEBP). */
  inputPath: string;
  outputPath: string;
  /** Frame size, even numbers (from `predictOutputSize`). */
  width: number;
  height: number;
  /** Whole seconds. */
  durationSeconds: number;
  /** Adds an AAC stereo 44.1 kHz track (a quiet tone) when true. */
  audio: boolean;
  /** Picks the camera drift, so one seed always gives the same clip. */
  seed: number;
}

export interface SandboxRenderer {
  /**
   * Renders one clip into `job.outputPath`; rejects when ffmpeg fails or the signal aborts. At most `maxConcurrent`
   * ffmpeg runs at once; with `reuseDirectory`, a clip rendered before is reused without running ffmpeg.
   */
  render(job: RenderJob, signal?: AbortSignal): Promise<void>;
  /** ffmpeg runs started so far (reused clips do not count). */
  ffmpegRuns(): number;
}

export interface SandboxRendererOptions {
  /** The ffmpeg binary. Works with the 2018 npm build too (no filter newer than ffmpeg 4.1). */
  ffmpegPath: string;
  /** Renders at once; more wait their turn. Default 2 (two cores). */
  maxConcurrent?: number;
  /**
   * Directory of reusable clips: identical render inputs (image bytes, frame size, duration, audio, the seed's camera
   * drift) get the clip already rendered there, and identical renders at once share one ffmpeg run
   * (`createRenderReuse`). Default: no reuse, every job runs ffmpeg.
   */
  reuseDirectory?: string;
}

/** Zoom per frame and its cap: gentle enough to look like a slow push-in over 15 s. */
const ZOOM_STEP = 0.0008;
const ZOOM_MAX = 1.12;

/** ffmpeg arguments for a slow zoom over the image at the model's fixed frame rate, H.264 yuv420p, faststart. */
export function renderArguments(job: RenderJob): string[] {
  const frames = job.durationSeconds * WAN_MODEL_FPS;
  const drift = [
    "iw/2-(iw/zoom/2)", // straight push-in
    `(iw-iw/zoom)*on/${frames}`, // drifting right
    `(iw-iw/zoom)*(1-on/${frames})`, // drifting left
  ][job.seed % 3];
  // Scaling to the frame size first keeps zoompan's per-frame work small whatever the image size.
  const video =
    `[0:v]scale=${job.width}:${job.height},setsar=1,` +
    `zoompan=z='min(zoom+${ZOOM_STEP},${ZOOM_MAX})':x='${drift}':y='ih/2-(ih/zoom/2)':d=${frames}:` +
    `s=${job.width}x${job.height}:fps=${WAN_MODEL_FPS},format=yuv420p[v]`;
  const audioInput = job.audio
    ? ["-f", "lavfi", "-i", `sine=frequency=220:sample_rate=44100:duration=${job.durationSeconds}`]
    : [];
  const filter = job.audio ? `${video};[1:a]volume=0.05,aformat=channel_layouts=stereo[a]` : video;
  const audioOutput = job.audio
    ? ["-map", "[a]", "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2"]
    : [];
  return [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", job.inputPath],
    ...audioInput,
    ...["-filter_complex", filter, "-map", "[v]"],
    ...audioOutput,
    ...["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p"],
    ...["-r", String(WAN_MODEL_FPS), "-t", String(job.durationSeconds), "-movflags", "+faststart"],
    job.outputPath,
  ];
}

export function createSandboxRenderer(options: SandboxRendererOptions): SandboxRenderer {
  const maxConcurrent = options.maxConcurrent ?? 2;
  let running = 0;
  const waiting: Array<() => void> = [];

  const acquire = async () => {
    if (running >= maxConcurrent) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
  };
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };
  let ffmpegRuns = 0;

  const runFfmpeg = async (job: RenderJob, signal?: AbortSignal) => {
    await acquire();
    try {
      signal?.throwIfAborted();
      ffmpegRuns += 1;
      await new Promise<void>((resolve, reject) => {
        execFile(
          options.ffmpegPath,
          renderArguments(job),
          { signal, timeout: 120_000, maxBuffer: 1024 * 1024 },
          (error, _stdout, stderr) => {
            if (error)
              reject(new Error(`ffmpeg failed: ${String(stderr).trim().slice(-500) || error.message}`));
            else resolve();
          },
        );
      });
    } finally {
      release();
    }
  };

  return {
    render: options.reuseDirectory
      ? createRenderReuse({
          directory: options.reuseDirectory,
          render: runFfmpeg,
          argumentsOf: renderArguments,
        })
      : runFfmpeg,
    ffmpegRuns: () => ffmpegRuns,
  };
}
