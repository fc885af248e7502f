import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";

/** What ffprobe (independent of the stage's own mp4box probe) says about a stored file. */
function ffprobe(videoUrl: string) {
  const ffprobePath = locateFfmpeg().ffprobe;
  if (!ffprobePath) throw new Error("ffprobe not found");
  const output = execFileSync(ffprobePath, [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=width,height,avg_frame_rate,pix_fmt,codec_name",
    "-of",
    "json",
    fileURLToPath(videoUrl),
  ]).toString();
  const stream = JSON.parse(output).streams[0] as {
    width: number;
    height: number;
    avg_frame_rate: string;
    pix_fmt: string;
    codec_name: string;
  };
  const [numerator, denominator] = stream.avg_frame_rate.split("/").map(Number);
  return { ...stream, fps: numerator! / denominator! };
}

let harness: StageHarness;
beforeAll(async () => {
  harness = await startStageHarness();
});
afterAll(() => harness.close());
const fast = acceleratedClock(50);

describe("the conform policy through the whole pipeline", () => {
  it.each([
    { fps: 24, size: "1280*720", width: 1280, height: 720 },
    { fps: 25, size: "1000*1000", width: 1000, height: 1000 },
    { fps: 60, size: "640x480", width: 640, height: 480 },
    { fps: 24, size: "720*1280", width: 720, height: 1280 },
  ])("stores exactly $size at $fps fps", async ({ fps, size, width, height }) => {
    const outcome = await generateInProcess(
      sampleRequest({ fps, size, unsupported: "conform", prompt: `conform ${size} ${fps}` }),
      harness.dependencies,
      { clock: fast },
    );
    expect(outcome.status).toBe("succeeded");
    if (outcome.status !== "succeeded") return;
    expect(outcome.response).toMatchObject({ width, height, warnings: [] });
    expect(outcome.response.fps).toBeCloseTo(fps, 2);
    expect(outcome.response.duration).toBeCloseTo(2, 1);
    expect(ffprobe(outcome.response.video_url)).toMatchObject({
      width,
      height,
      pix_fmt: "yuv420p",
      codec_name: "h264",
    });
    expect(ffprobe(outcome.response.video_url).fps).toBeCloseTo(fps, 2);
  });

  it("rounds odd sides to even, and says so", async () => {
    const outcome = await generateInProcess(
      sampleRequest({ fps: 30, size: "721*405", unsupported: "conform", prompt: "odd size" }),
      harness.dependencies,
      { clock: fast },
    );
    expect(outcome).toMatchObject({
      status: "succeeded",
      response: {
        width: 722,
        height: 406,
        warnings: [expect.objectContaining({ field: "size", requested: "721*405", applied: "722*406" })],
      },
    });
  });

  it("leaves warn alone (the model's 30 fps and frame, with warnings) and rejects under strict", async () => {
    const warned = await generateInProcess(
      sampleRequest({ fps: 24, size: "1000*1000", prompt: "warn policy" }),
      harness.dependencies,
      { clock: fast },
    );
    expect(warned).toMatchObject({ status: "succeeded", response: { width: 1280, height: 720 } });
    if (warned.status === "succeeded") {
      expect(warned.response.fps).toBeCloseTo(30, 1);
      expect(warned.response.warnings.map((warning) => warning.field).sort()).toEqual(["fps", "size"]);
    }

    const tasksBefore = harness.sandbox.stats().tasksCreated;
    const strict = await generateInProcess(
      sampleRequest({ size: "1000*1000", unsupported: "strict", prompt: "strict policy" }),
      harness.dependencies,
      { clock: fast },
    );
    expect(strict).toMatchObject({ status: "failed", error: { code: "invalid_input", category: "input" } });
    if (strict.status === "failed")
      expect(strict.error.message).toMatch(/^size 1000\*1000 cannot be honoured/);
    expect(harness.sandbox.stats().tasksCreated).toBe(tasksBefore);
  });
});
