import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { predictOutputSize, WAN_MODEL_FPS } from "../../src/contract/wan-model.ts";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { createSandboxRenderer, type RenderJob } from "../../src/sandbox/sandbox-render.ts";
import { encodeBmp24 } from "../helpers/make-bmp.ts";
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

/** A 24-bit BMP, to check that ffmpeg renders that accepted format too. */
async function makeBmp(width: number, height: number): Promise<Buffer> {
  const rgb = await sharp(await makeImage(width, height))
    .removeAlpha()
    .raw()
    .toBuffer();
  return encodeBmp24(width, height, (x, y) => {
    const source = (y * width + x) * 3;
    return [rgb[source] ?? 0, rgb[source + 1] ?? 0, rgb[source + 2] ?? 0];
  });
}

describe("sandbox rendering", () => {
  let sandbox: SandboxHandle;
  let directory: string;

  beforeAll(async () => {
    sandbox = await startSandbox({
      timings: { pendingMs: 0, renderMs: 0 },
      submitsPerSecond: 100,
      concurrencyLimit: 100,
    });
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

  it.each([
    { rule: "official" as const, width: 750, height: 1000, expected: { width: 816, height: 1104 } },
    { rule: "official" as const, width: 1024, height: 768, expected: { width: 1104, height: 816 } },
    { rule: "measured" as const, width: 1024, height: 768, expected: { width: 1108, height: 830 } },
    { rule: "measured" as const, width: 750, height: 1000, expected: { width: 830, height: 1108 } },
  ])(
    "renders a $width x $height image at 720P by the $rule frame rule as $expected.width x $expected.height",
    async ({ rule, width, height, expected }) => {
      // The documented example (750x1000 → 816x1104) and the measured render (1024x768 → 1108x830), each under both
      // rules: the default sandbox follows the docs, `frameRule: "measured"` the measurement.
      const ruled =
        rule === "official"
          ? sandbox
          : await startSandbox({ timings: { pendingMs: 0, renderMs: 0 }, frameRule: rule });
      try {
        const submitted = await call(`${ruled.baseUrl}${submitPath}`, {
          method: "POST",
          headers: submitHeaders(ruled.apiKey),
          body: submitBody(dataUri(await makeImage(width, height, "jpeg"), "image/jpeg"), {
            resolution: "720P",
            duration: 2,
            audio: false,
          }),
        });
        const finished = await waitForTask(
          ruled.baseUrl,
          ruled.apiKey,
          submitted.json().output.task_id,
          30_000,
        );
        expect(finished.output.task_status).toBe("SUCCEEDED");
        const download = await fetch(finished.output.video_url, { signal: AbortSignal.timeout(15_000) });
        const filePath = path.join(directory, `${rule}-${width}x${height}.mp4`);
        await writeFile(filePath, Buffer.from(await download.arrayBuffer()));
        const video = await probe(filePath);
        expect({ width: video.width, height: video.height }).toEqual(expected);
        expect(predictOutputSize("720P", width, height, rule)).toEqual(expected);
      } finally {
        if (ruled !== sandbox) await ruled.close();
      }
    },
  );

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

const sha256Of = async (filePath: string) =>
  createHash("sha256")
    .update(await readFile(filePath))
    .digest("hex");

describe("render reuse", () => {
  let directory: string;
  let imagePath: string;
  const ffmpegPath = locateFfmpeg().ffmpeg!;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "sandbox-render-reuse-test-"));
    imagePath = path.join(directory, "input.png");
    await writeFile(imagePath, await makeImage(320, 240));
  });
  afterAll(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** A small, quick job: 320×240, 2 s, silent. */
  const job = (name: string, overrides: Partial<RenderJob> = {}): RenderJob => ({
    inputPath: imagePath,
    outputPath: path.join(directory, `${name}.mp4`),
    width: 320,
    height: 240,
    durationSeconds: 2,
    audio: false,
    seed: 7,
    ...overrides,
  });

  it("runs ffmpeg once per distinct input and hands identical jobs the same bytes", async () => {
    const renderer = createSandboxRenderer({ ffmpegPath, reuseDirectory: path.join(directory, "reuse-1") });
    await renderer.render(job("first"));
    expect(renderer.ffmpegRuns()).toBe(1);

    // The same image bytes under another path, another output path: reused, byte-identical.
    const copiedImage = path.join(directory, "copy.png");
    await copyFile(imagePath, copiedImage);
    await renderer.render(job("second", { inputPath: copiedImage }));
    expect(renderer.ffmpegRuns()).toBe(1);
    expect(await sha256Of(job("second").outputPath)).toBe(await sha256Of(job("first").outputPath));

    // Seed 10 drifts like seed 7 (seed mod 3 picks the drift): same clip. Seed 8 drifts another way: a new render.
    await renderer.render(job("same-drift", { seed: 10 }));
    expect(renderer.ffmpegRuns()).toBe(1);
    await renderer.render(job("other-drift", { seed: 8 }));
    expect(renderer.ffmpegRuns()).toBe(2);
    expect(await sha256Of(job("other-drift").outputPath)).not.toBe(await sha256Of(job("first").outputPath));

    // Any other input is a new render: frame size, duration, audio, image bytes.
    const otherImage = path.join(directory, "other.png");
    await writeFile(otherImage, await makeImage(320, 240, "jpeg"));
    await renderer.render(job("wider", { width: 384 }));
    await renderer.render(job("longer", { durationSeconds: 3 }));
    await renderer.render(job("with-audio", { audio: true }));
    await renderer.render(job("other-image", { inputPath: otherImage }));
    expect(renderer.ffmpegRuns()).toBe(6);
    expect((await probe(job("longer").outputPath)).durationSeconds).toBeCloseTo(3, 1);
  });

  it("shares one ffmpeg run between identical jobs started at once", async () => {
    const renderer = createSandboxRenderer({ ffmpegPath, reuseDirectory: path.join(directory, "reuse-2") });
    const names = ["together-a", "together-b", "together-c"];
    await Promise.all(names.map((name) => renderer.render(job(name, { seed: 11 }))));
    expect(renderer.ffmpegRuns()).toBe(1);
    const hashes = await Promise.all(names.map((name) => sha256Of(job(name).outputPath)));
    expect(new Set(hashes).size).toBe(1);
    // Only the finished clip is kept: no partial files.
    expect(await readdir(path.join(directory, "reuse-2"))).toHaveLength(1);
  });

  it("without reuse, identical jobs run ffmpeg each time and still give identical bytes (reuse is unobservable)", async () => {
    const renderer = createSandboxRenderer({ ffmpegPath });
    await renderer.render(job("plain-a", { seed: 12, audio: true }));
    await renderer.render(job("plain-b", { seed: 12, audio: true }));
    expect(renderer.ffmpegRuns()).toBe(2);
    expect(await sha256Of(job("plain-b").outputPath)).toBe(await sha256Of(job("plain-a").outputPath));
  });

  it("keeps nothing from a failed render, so the next identical job tries again", async () => {
    const reuseDirectory = path.join(directory, "reuse-broken");
    // Node is not ffmpeg: every render fails.
    const renderer = createSandboxRenderer({ ffmpegPath: process.execPath, reuseDirectory });
    await expect(renderer.render(job("broken"))).rejects.toThrow(/ffmpeg failed/);
    await expect(renderer.render(job("broken"))).rejects.toThrow(/ffmpeg failed/);
    expect(renderer.ffmpegRuns()).toBe(2);
    expect(await readdir(reuseDirectory)).toEqual([]);
  });

  /** An ffmpeg that counts its runs in a file, so a test sees how often the sandbox itself ran it. */
  async function countingFfmpeg(name: string): Promise<{ path: string; runs: () => Promise<number> }> {
    const scriptPath = path.join(directory, `${name}.sh`);
    const countPath = path.join(directory, `${name}.count`);
    await writeFile(scriptPath, `#!/bin/sh\necho run >> '${countPath}'\nexec '${ffmpegPath}' "$@"\n`, {
      mode: 0o755,
    });
    return {
      path: scriptPath,
      runs: () =>
        readFile(countPath, "utf8").then(
          (text) => text.split("\n").filter(Boolean).length,
          () => 0,
        ),
    };
  }

  /** Submits the same request twice, waits for both, and returns their downloaded bytes. */
  async function renderTwice(sandbox: SandboxHandle): Promise<Buffer[]> {
    const body = submitBody(dataUri(await makeImage(320, 240)), { seed: 5 }, { prompt: "first" });
    const otherPrompt = submitBody(dataUri(await makeImage(320, 240)), { seed: 5 }, { prompt: "second" });
    const files: Buffer[] = [];
    for (const submit of [body, otherPrompt]) {
      const submitted = await call(`${sandbox.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(sandbox.apiKey),
        body: submit,
      });
      expect(submitted.status).toBe(200);
      const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, submitted.json().output.task_id);
      expect(finished.output.task_status).toBe("SUCCEEDED");
      const download = await fetch(finished.output.video_url, { signal: AbortSignal.timeout(15_000) });
      files.push(Buffer.from(await download.arrayBuffer()));
    }
    return files;
  }

  it("is on by default in the sandbox: a second task with the same render inputs runs no ffmpeg", async () => {
    const ffmpeg = await countingFfmpeg("default");
    const sandbox = await startSandbox({ timings: { pendingMs: 0, renderMs: 0 }, ffmpegPath: ffmpeg.path });
    try {
      const [first, second] = await renderTwice(sandbox);
      expect(await ffmpeg.runs()).toBe(1);
      expect(sandbox.stats().tasksCreated).toBe(2);
      expect(second!.equals(first!)).toBe(true);
    } finally {
      await sandbox.close();
    }
  });

  it("can be turned off: reuseRenders false renders every task", async () => {
    const ffmpeg = await countingFfmpeg("off");
    const sandbox = await startSandbox({
      timings: { pendingMs: 0, renderMs: 0 },
      ffmpegPath: ffmpeg.path,
      reuseRenders: false,
    });
    try {
      const [first, second] = await renderTwice(sandbox);
      expect(await ffmpeg.runs()).toBe(2);
      expect(second!.equals(first!)).toBe(true);
    } finally {
      await sandbox.close();
    }
  });
});
