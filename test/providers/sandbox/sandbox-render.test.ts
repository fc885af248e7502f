import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { predictOutputSize, WAN_MODEL_FPS } from "../../../src/contract/wan-model.ts";
import { type SandboxHandle, startSandbox } from "../../../src/providers/sandbox/index.ts";
import {
  call,
  dataUri,
  makeImage,
  probe,
  submitBody,
  submitHeaders,
  submitPath,
  waitForTask,
} from "./sandbox-test-helpers.ts";

/** A 24-bit BMP (sharp cannot write BMP), to check that ffmpeg renders that accepted format too. */
async function makeBmp(width: number, height: number): Promise<Buffer> {
  const rgb = await sharp(await makeImage(width, height))
    .removeAlpha()
    .raw()
    .toBuffer();
  const rowSize = Math.ceil((width * 3) / 4) * 4;
  const file = Buffer.alloc(54 + rowSize * height);
  file.write("BM", 0, "latin1");
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(rowSize * height, 34);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const source = (y * width + x) * 3;
      const target = 54 + (height - 1 - y) * rowSize + x * 3; // bottom-up rows, BGR
      file[target] = rgb[source + 2] ?? 0;
      file[target + 1] = rgb[source + 1] ?? 0;
      file[target + 2] = rgb[source] ?? 0;
    }
  }
  return file;
}

describe("sandbox rendering", () => {
  let sandbox: SandboxHandle;
  let directory: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ timings: { pendingMs: 0, renderMs: 0 }, submitsPerSecond: 100 });
    directory = await mkdtemp(path.join(tmpdir(), "sandbox-render-test-"));
  });
  afterAll(async () => {
    await sandbox?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  const cases = [
    {
      name: "16:9 PNG, 720P, 5 s, audio",
      width: 960,
      height: 540,
      format: "png",
      resolution: "720P",
      duration: 5,
      audio: true,
    },
    {
      name: "4:3 JPEG, 720P, 2 s, silent",
      width: 640,
      height: 480,
      format: "jpeg",
      resolution: "720P",
      duration: 2,
      audio: false,
    },
    {
      name: "9:16 WEBP, 720P, 3 s, audio",
      width: 540,
      height: 960,
      format: "webp",
      resolution: "720P",
      duration: 3,
      audio: true,
    },
    {
      name: "4:3 BMP, 1080P, 2 s, silent",
      width: 320,
      height: 240,
      format: "bmp",
      resolution: "1080P",
      duration: 2,
      audio: false,
    },
  ] as const;

  it.each(cases)("renders $name as predicted", async (testCase) => {
    const bytes =
      testCase.format === "bmp"
        ? await makeBmp(testCase.width, testCase.height)
        : await makeImage(testCase.width, testCase.height, testCase.format);
    const submitted = await call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey),
      body: submitBody(dataUri(bytes, `image/${testCase.format}`), {
        resolution: testCase.resolution,
        duration: testCase.duration,
        audio: testCase.audio,
        seed: testCase.width,
      }),
    });
    expect(submitted.status).toBe(200);
    const finished = await waitForTask(
      sandbox.baseUrl,
      sandbox.apiKey,
      submitted.json().output.task_id,
      30_000,
    );
    expect(finished.output.task_status).toBe("SUCCEEDED");
    const download = await fetch(finished.output.video_url, { signal: AbortSignal.timeout(15_000) });
    const filePath = path.join(directory, `${finished.output.task_id}.mp4`);
    await writeFile(filePath, Buffer.from(await download.arrayBuffer()));

    const video = await probe(filePath);
    const expected = predictOutputSize(testCase.resolution, testCase.width, testCase.height);
    expect({ width: video.width, height: video.height }).toEqual(expected);
    expect(video.width % 2).toBe(0);
    expect(video.height % 2).toBe(0);
    expect(Math.abs(video.durationSeconds - testCase.duration)).toBeLessThanOrEqual(0.1);
    expect(video.fps).toBeCloseTo(WAN_MODEL_FPS, 3);
    expect(video.videoCodec).toBe("h264");
    expect(video.pixelFormat).toBe("yuv420p");
    if (testCase.audio) expect(video.audio).toEqual({ codec: "aac", channels: 2, sampleRate: 44_100 });
    else expect(video.audio).toBeUndefined();
  });

  it("ends a task FAILED with InternalError.Algo when the render fails", async () => {
    // Node is not ffmpeg: every render fails.
    const broken = await startSandbox({
      timings: { pendingMs: 0, renderMs: 0 },
      ffmpegPath: process.execPath,
    });
    try {
      const submitted = await call(`${broken.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(broken.apiKey),
        body: submitBody(dataUri(await makeImage(320, 240))),
      });
      const finished = await waitForTask(broken.baseUrl, broken.apiKey, submitted.json().output.task_id);
      expect(finished.output).toMatchObject({ task_status: "FAILED", code: "InternalError.Algo" });
    } finally {
      await broken.close();
    }
  });
});
