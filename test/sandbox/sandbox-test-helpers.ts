import { execFile } from "node:child_process";
import { promisify } from "node:util";
import sharp from "sharp";
import { request } from "undici";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";

/** A solid image with a shape on it, so zoom and pan are visible, in the given format. */
export async function makeImage(
  width: number,
  height: number,
  format: "png" | "jpeg" | "webp" = "png",
): Promise<Buffer> {
  const circle = Buffer.from(
    `<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="orange"/></svg>`,
  );
  return sharp({ create: { width, height, channels: 3, background: "#2a6fb0" } })
    .composite([{ input: circle }])
    .toFormat(format)
    .toBuffer();
}

export const dataUri = (bytes: Buffer, mime = "image/png") =>
  `data:${mime};base64,${bytes.toString("base64")}`;

/** A JSON body as tests read it: field access without a schema (the assertions are the schema). */
// biome-ignore lint/suspicious/noExplicitAny: tests walk response bodies ad hoc and assert on them.
export type JsonBody = any;

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json: () => JsonBody;
}

/** One raw HTTP call, the protocol as documented; bounded by a timeout so no test can hang. */
export async function call(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    timeoutMs?: number;
  } = {},
): Promise<RawResponse> {
  const response = await request(url, {
    method: (options.method ?? "GET") as "GET",
    headers: options.headers,
    body: options.body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    json: () => JSON.parse(text),
  };
}

/** Headers of a documented submit. */
export const submitHeaders = (apiKey: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${apiKey}`,
  "content-type": "application/json",
  "x-dashscope-async": "enable",
  ...extra,
});

export const submitPath = "/services/aigc/video-generation/video-synthesis";

/** A submit body for the model with the given image and parameters. */
export const submitBody = (
  imgUrl: string,
  parameters: Record<string, unknown> = {},
  input: Record<string, unknown> = {},
) =>
  JSON.stringify({
    model: "wan2.6-i2v-flash",
    input: { img_url: imgUrl, prompt: "a slow push-in", ...input },
    parameters: { resolution: "720P", duration: 2, audio: false, ...parameters },
  });

/** Polls a task until it leaves PENDING/RUNNING or the deadline passes; returns the last body. */
export async function waitForTask(
  baseUrl: string,
  apiKey: string,
  taskId: string,
  timeoutMs = 20_000,
): Promise<JsonBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (
      await call(`${baseUrl}/tasks/${taskId}`, { headers: { authorization: `Bearer ${apiKey}` } })
    ).json();
    const status = body.output.task_status;
    if ((status !== "PENDING" && status !== "RUNNING") || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface ProbedVideo {
  durationSeconds: number;
  width: number;
  height: number;
  fps: number;
  videoCodec: string;
  pixelFormat: string;
  audio?: { codec: string; channels: number; sampleRate: number };
}

/** Reads an MP4 with the real ffprobe (JSON output). */
export async function probe(filePath: string): Promise<ProbedVideo> {
  const ffprobe = locateFfmpeg().ffprobe;
  if (!ffprobe) throw new Error("ffprobe not found");
  const { stdout } = await promisify(execFile)(
    ffprobe,
    ["-v", "error", "-show_streams", "-show_format", "-of", "json", filePath],
    { timeout: 30_000 },
  );
  const parsed = JSON.parse(stdout) as {
    streams: Array<Record<string, string | number>>;
    format: { duration: string };
  };
  const video = parsed.streams.find((stream) => stream.codec_type === "video");
  const audio = parsed.streams.find((stream) => stream.codec_type === "audio");
  if (!video) throw new Error("no video stream");
  const [numerator, denominator] = String(video.avg_frame_rate).split("/").map(Number);
  return {
    durationSeconds: Number(parsed.format.duration),
    width: Number(video.width),
    height: Number(video.height),
    fps: (numerator ?? 0) / (denominator || 1),
    videoCodec: String(video.codec_name),
    pixelFormat: String(video.pix_fmt),
    audio: audio
      ? {
          codec: String(audio.codec_name),
          channels: Number(audio.channels),
          sampleRate: Number(audio.sample_rate),
        }
      : undefined,
  };
}
