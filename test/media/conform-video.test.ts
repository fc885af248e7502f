import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../../src/errors/storage-error.ts";
import { conformVideo } from "../../src/media/conform-video.ts";
import { probeVideo, requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { makeTestMp4 } from "../helpers/make-test-mp4.ts";

const execFileAsync = promisify(execFile);
const { ffmpeg, ffprobe } = requireFfmpeg();
const npmFfmpeg = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;
/** The located ffmpeg (Debian's on CI) and the npm 2018 build, when they differ: conform must work with both. */
const binaries = [...new Set([ffmpeg, npmFfmpeg])];
const SECONDS = 2;

let directory: string;
let source43: string;
let silent169: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "conform-video-"));
  source43 = await makeTestMp4({ width: 640, height: 480, fps: 30, durationSeconds: SECONDS, audio: true });
  silent169 = await makeTestMp4({ width: 640, height: 360, fps: 30, durationSeconds: 2 });
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const output = (name: string) => path.join(directory, name);

const targets = [
  { fps: 24, width: 1280, height: 720 },
  { fps: 25, width: 1000, height: 1000 },
  { fps: 60, width: 720, height: 1280 },
  { fps: 24, width: 640, height: 480 },
];
/** The full matrix with the located ffmpeg; the first case again with the npm build when that is a different one. */
const cases = binaries.flatMap((ffmpegPath, index) =>
  (index === 0 ? targets : targets.slice(0, 1)).map((target) => ({ ffmpegPath, ...target })),
);

describe("conformVideo output", () => {
  it.each(cases)(
    "makes a 4:3 2 s 30 fps clip exactly $width x $height at $fps fps with $ffmpegPath, audio kept",
    async ({ ffmpegPath, ...target }) => {
      const outputPath = output(
        `out-${binaries.indexOf(ffmpegPath)}-${target.fps}-${target.width}x${target.height}.mp4`,
      );
      await conformVideo({ ffmpegPath, inputPath: source43, outputPath, ...target });
      const probed = await probeVideo(ffprobe, outputPath);
      expect(probed.width).toBe(target.width);
      expect(probed.height).toBe(target.height);
      expect(probed.fps).toBe(target.fps);
      expect(probed.frames).toBe(Math.round(SECONDS * target.fps));
      expect(Math.abs(probed.durationSeconds - SECONDS)).toBeLessThanOrEqual(1 / target.fps);
      expect(probed.sampleAspectRatio ?? "1:1").toBe("1:1");
      expect(probed.pixelFormat).toBe("yuv420p");
      expect(probed.codec).toBe("h264");
      expect(probed.audioCodec).toBe("aac");
    },
  );
});

describe("conformVideo", () => {
  it("keeps the size when only fps is asked for, and adds no audio to a silent clip", async () => {
    const outputPath = output("fps-only.mp4");
    await conformVideo({ ffmpegPath: ffmpeg, inputPath: silent169, outputPath, fps: 23.976 });
    const probed = await probeVideo(ffprobe, outputPath);
    expect([probed.width, probed.height]).toEqual([640, 360]);
    expect(probed.fps).toBeCloseTo(23.976, 3);
    expect(probed.frames).toBe(Math.round(2 * 23.976));
    expect(probed.audioCodec).toBeUndefined();
  });

  it("crops rather than letterboxes or stretches: black side bars of a 16:9 frame are cut off for a square", async () => {
    // Grey frame with black bars in the outer 60 px of each side; the centred 360x360 window has none of them.
    const inputPath = output("edge-bars.mp4");
    const bars = (x: number) => `drawbox=x=${x}:y=0:w=60:h=360:color=black:t=fill`;
    await execFileAsync(ffmpeg, [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi"],
      ...["-i", `color=c=gray:size=640x360:rate=30:duration=1,${bars(0)},${bars(580)}`],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", inputPath],
    ]);
    const outputPath = output("square-from-wide.mp4");
    await conformVideo({ ffmpegPath: ffmpeg, inputPath, outputPath, width: 360, height: 360 });
    const probed = await probeVideo(ffprobe, outputPath);
    expect([probed.width, probed.height, probed.fps]).toEqual([360, 360, 30]);
    const framePath = output("square-frame.png");
    await execFileAsync(ffmpeg, ["-loglevel", "error", "-y", "-i", outputPath, "-frames:v", "1", framePath]);
    const stats = await sharp(framePath).stats();
    // Letterboxing would add black rows, stretching would keep the black bars: either gives a near-black minimum.
    expect(stats.channels[0]!.min).toBeGreaterThan(60);
  });

  it("fails with conform_failed, ffmpeg's stderr and no output file when the input is not a video", async () => {
    const inputPath = output("not-a-video.mp4");
    const outputPath = output("from-garbage.mp4");
    await writeFile(inputPath, "this is not an mp4");
    const failure = await conformVideo({ ffmpegPath: ffmpeg, inputPath, outputPath, fps: 24 }).catch(
      (error) => error,
    );
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure.code).toBe("conform_failed");
    expect(failure.retryable).toBe(false);
    expect(failure.message).toMatch(/exited with code \d+: .*(Invalid data|moov atom)/s);
    expect(existsSync(outputPath)).toBe(false);
  });

  it("removes the partial output of a failed pass that overwrote an existing file", async () => {
    const outputPath = output("stale.mp4");
    await writeFile(outputPath, "stale");
    const missingInput = output("missing-input.mp4");
    await expect(
      conformVideo({ ffmpegPath: ffmpeg, inputPath: missingInput, outputPath, fps: 24 }),
    ).rejects.toThrow(/No such file/);
    expect(existsSync(outputPath)).toBe(false);
  });

  it("refuses odd sizes and a missing side before starting ffmpeg", async () => {
    const outputPath = output("never.mp4");
    await expect(
      conformVideo({ ffmpegPath: ffmpeg, inputPath: source43, outputPath, width: 641, height: 480 }),
    ).rejects.toThrow(/width must be an even whole number/);
    await expect(
      conformVideo({ ffmpegPath: ffmpeg, inputPath: source43, outputPath, width: 640 }),
    ).rejects.toThrow(/width and height must be given together/);
    expect(existsSync(outputPath)).toBe(false);
  });

  it("kills ffmpeg on abort and leaves no file", async () => {
    const inputPath = await makeTestMp4({ width: 1280, height: 720, fps: 30, durationSeconds: 6 });
    const outputPath = output("aborted.mp4");
    const controller = new AbortController();
    const started = Date.now();
    const running = conformVideo({
      ffmpegPath: ffmpeg,
      inputPath,
      outputPath,
      fps: 60,
      width: 1920,
      height: 1080,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(ffmpegProcessesWriting(outputPath)).toBeGreaterThan(0);
    controller.abort(new Error("canceled by test"));
    const failure = await running.catch((error) => error);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure.code).toBe("conform_failed");
    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(/aborted/);
    expect(ffmpegProcessesWriting(outputPath)).toBe(0);
    expect(existsSync(outputPath)).toBe(false);
  });
});

/** Live processes whose command line names the file (Linux /proc), to prove the ffmpeg child is gone. */
function ffmpegProcessesWriting(filePath: string): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.[0];
      if (commandLine.includes(filePath) && state !== "Z") count++;
    } catch {
      // The process ended while we looked.
    }
  }
  return count;
}
