import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";

const execFileAsync = promisify(execFile);

/** The ffmpeg and ffprobe the tests use; both must exist (npm ci installs them). */
export function requireFfmpeg(): { ffmpeg: string; ffprobe: string } {
  const { ffmpeg, ffprobe } = locateFfmpeg();
  if (!ffmpeg || !ffprobe) throw new Error("ffmpeg and ffprobe are needed: run npm ci, or install ffmpeg");
  return { ffmpeg, ffprobe };
}

/** What ffprobe reports about a file, reduced to what the tests assert. */
export interface ProbedVideo {
  width: number;
  height: number;
  /** Frame rate from `r_frame_rate` (e.g. 24, 23.976...). */
  fps: number;
  frames: number;
  durationSeconds: number;
  sampleAspectRatio: string | undefined;
  pixelFormat: string;
  codec: string;
  audioCodec: string | undefined;
}

/** Probes a file with ffprobe's JSON output, counting the video frames by reading the packets. */
export async function probeVideo(ffprobePath: string, filePath: string): Promise<ProbedVideo> {
  const { stdout } = await execFileAsync(
    ffprobePath,
    ["-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "json", filePath],
    { timeout: 60_000 },
  );
  const report = JSON.parse(stdout) as {
    streams: Array<Record<string, string | number | undefined>>;
    format: { duration: string };
  };
  const video = report.streams.find((stream) => stream.codec_type === "video");
  const audio = report.streams.find((stream) => stream.codec_type === "audio");
  if (!video) throw new Error(`${filePath} has no video stream`);
  const [numerator, denominator] = String(video.r_frame_rate).split("/").map(Number);
  return {
    width: Number(video.width),
    height: Number(video.height),
    fps: numerator! / denominator!,
    frames: Number(video.nb_read_packets),
    durationSeconds: Number(video.duration ?? report.format.duration),
    sampleAspectRatio:
      video.sample_aspect_ratio === undefined ? undefined : String(video.sample_aspect_ratio),
    pixelFormat: String(video.pix_fmt),
    codec: String(video.codec_name),
    audioCodec: audio ? String(audio.codec_name) : undefined,
  };
}
