/**
 * Cost of the `poster` step's ffmpeg pass (src/media/make-poster.ts) against taking frame 0: wall time, poster size and
 * the poster's mean luma, on a 5 s 720P and a 15 s 1080P clip (and a 720P clip that opens with 1 s of black), with the
 * system ffmpeg (when installed) and the npm build. Each row is several runs after one warm-up.
 *   node --import tsx bench/poster-benchmark.ts [--runs 7]   → writes bench/results/poster.md
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { locateFfmpeg } from "../src/media/ffmpeg-path.ts";
import {
  createPosterMaker,
  POSTER_BLACK_LUMA,
  POSTER_SAMPLE_FRAMES,
  POSTER_WIDTH,
} from "../src/media/make-poster.ts";
import { runFfmpeg } from "../src/media/run-ffmpeg.ts";
import { describeMachine, percentile } from "./machine.ts";

const execFileAsync = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Number(values.runs);

interface Clip {
  label: string;
  width: number;
  height: number;
  seconds: number;
  /** Seconds of black before the picture. */
  blackSeconds: number;
}

const CLIPS: Clip[] = [
  { label: "5 s 720P", width: 1280, height: 720, seconds: 5, blackSeconds: 0 },
  { label: "15 s 1080P", width: 1920, height: 1080, seconds: 15, blackSeconds: 0 },
  { label: "5 s 720P, opens with 1 s of black", width: 1280, height: 720, seconds: 5, blackSeconds: 1 },
];

const quiet = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];

/**
 * A detailed still (a Mandelbrot frame) under a slow zoom at 30 fps, as an image-to-video render mostly is (the same
 * content as the conform benchmark), optionally after a stretch of black.
 */
async function makeClip(ffmpegPath: string, clip: Clip, outputPath: string): Promise<void> {
  const stillPath = `${outputPath}.png`;
  const { width, height } = clip;
  await execFileAsync(ffmpegPath, [
    ...quiet,
    ...["-f", "lavfi", "-i", `mandelbrot=size=${width * 2}x${height * 2}:rate=1:start_scale=0.5`],
    ...["-frames:v", "1", stillPath],
  ]);
  const pictureSeconds = clip.seconds - clip.blackSeconds;
  const zoom = `zoompan=z='min(zoom+0.0015,1.5)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${pictureSeconds * 30}:s=${width}x${height}:fps=30,format=yuv420p,setsar=1`;
  const graph =
    clip.blackSeconds > 0
      ? [
          ...[
            "-f",
            "lavfi",
            "-i",
            `color=black:size=${width}x${height}:rate=30:duration=${clip.blackSeconds}`,
          ],
          ...[
            "-filter_complex",
            `[0:v]${zoom}[picture];[1:v]format=yuv420p,setsar=1[black];[black][picture]concat=n=2:v=1[v]`,
          ],
          ...["-map", "[v]"],
        ]
      : ["-vf", zoom];
  await execFileAsync(ffmpegPath, [
    ...quiet,
    ...["-i", stillPath, ...graph, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
    ...["-movflags", "+faststart", outputPath],
  ]);
  await rm(stillPath, { force: true });
}

/** Frame 0 scaled like the poster, to WebP: what a poster without frame selection costs. */
async function frameZero(ffmpegPath: string, videoPath: string): Promise<Buffer> {
  return runFfmpeg(
    [
      ...["-hide_banner", "-loglevel", "error", "-i", `file:${videoPath}`, "-map", "0:v:0", "-an"],
      ...["-vf", `scale=${POSTER_WIDTH}:-2`, "-frames:v", "1", "-c:v", "libwebp", "-f", "webp", "pipe:1"],
    ],
    { ffmpegPath, captureOutput: true },
  );
}

/** Mean luma (0-255) of an image, decoded by ffmpeg to 8-bit gray. */
async function meanLuma(ffmpegPath: string, imagePath: string): Promise<number> {
  const gray = await runFfmpeg(
    ["-hide_banner", "-loglevel", "error", "-i", imagePath, "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
    { ffmpegPath, captureOutput: true },
  );
  let sum = 0;
  for (const value of gray) sum += value;
  return sum / gray.byteLength;
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU milliseconds (user + system) of this process's finished children so far, from /proc (Linux; NaN elsewhere):
 * unlike wall time, barely moved by other load on the machine. Resolution: one clock tick (10 ms).
 */
function childCpuMs(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of proc(5), cutime and cstime; the slice starts at field 3.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

interface Measured {
  medianMs: number;
  p95Ms: number;
  /** Median CPU time of ffmpeg per call. */
  cpuMs: number;
  bytes: number;
  luma: number;
}

/** One warm-up, then `runs` timed calls; size and luma of the last output. */
async function measure(
  ffmpegPath: string,
  directory: string,
  name: string,
  make: () => Promise<Buffer>,
): Promise<Measured> {
  await make();
  const times: number[] = [];
  const cpu: number[] = [];
  let output: Buffer = Buffer.alloc(0);
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const cpuBefore = childCpuMs();
    output = await make();
    times.push(performance.now() - started);
    cpu.push(childCpuMs() - cpuBefore);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const imagePath = path.join(directory, `${name}.webp`);
  await writeFile(imagePath, output);
  return {
    medianMs: percentile(times, 0.5),
    p95Ms: percentile(times, 0.95),
    cpuMs: percentile(cpu, 0.5),
    bytes: output.byteLength,
    luma: await meanLuma(ffmpegPath, imagePath),
  };
}

async function versionOf(ffmpegPath: string): Promise<string> {
  const { stdout } = await execFileAsync(ffmpegPath, ["-version"]);
  return stdout.split("\n")[0]!.replace(/ Copyright.*/, "");
}

async function main() {
  const loadBefore = os.loadavg()[0]!;
  const located = locateFfmpeg().ffmpeg;
  if (!located) throw new Error("ffmpeg is needed (npm ci, or install ffmpeg)");
  const npmFfmpeg = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  const binaries: Array<{ label: string; path: string }> = [];
  if (located !== npmFfmpeg) binaries.push({ label: "system", path: located });
  binaries.push({ label: "npm", path: npmFfmpeg });

  const directory = await mkdtemp(path.join(os.tmpdir(), "poster-bench-"));
  const rows: string[] = [];
  try {
    for (const [index, clip] of CLIPS.entries()) {
      const clipPath = path.join(directory, `clip-${index}.mp4`);
      await makeClip(binaries[0]!.path, clip, clipPath);
      for (const binary of binaries) {
        const makePoster = createPosterMaker({ ffmpegPath: binary.path });
        const poster = await measure(binary.path, directory, `poster-${index}-${binary.label}`, async () => {
          return (await makePoster(clipPath)).bytes;
        });
        const first = await measure(binary.path, directory, `frame0-${index}-${binary.label}`, () =>
          frameZero(binary.path, clipPath),
        );
        const kib = (bytes: number) => (bytes / 1024).toFixed(1);
        const cpu = (value: number) => (Number.isNaN(value) ? "n/a" : value.toFixed(0));
        rows.push(
          `| ${clip.label} | ${binary.label} | ${poster.medianMs.toFixed(0)} | ${poster.p95Ms.toFixed(0)} | ${cpu(poster.cpuMs)} | ${kib(poster.bytes)} | ${poster.luma.toFixed(0)} | ${first.medianMs.toFixed(0)} | ${first.p95Ms.toFixed(0)} | ${cpu(first.cpuMs)} | ${kib(first.bytes)} | ${first.luma.toFixed(0)} |`,
        );
        console.log(rows.at(-1));
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg()[0]!;
  const versions = await Promise.all(
    binaries.map(async (binary) => `- ${binary.label}: ${await versionOf(binary.path)}`),
  );

  const report = `# Poster benchmark

Command: \`node --import tsx bench/poster-benchmark.ts --runs ${runs}\`. Date: ${new Date().toISOString().slice(0, 10)}.
Machine: ${describeMachine()}. One-minute load average ${loadBefore.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end.

ffmpeg builds:
${versions.join("\n")}

The \`poster\` step's ffmpeg pass as shipped (\`src/media/make-poster.ts\`): scale to ${POSTER_WIDTH} px wide, drop frames whose
mean luma is at most ${POSTER_BLACK_LUMA}, \`thumbnail=n=${POSTER_SAMPLE_FRAMES}\` over the rest, one frame to WebP on stdout; against frame 0
scaled the same way. Clips: H.264 at 30 fps made by ffmpeg, a slow zoom over a detailed still (as an image-to-video
render mostly is), one of them after 1 s of black. Times are wall milliseconds of the whole call (process start
included), ${runs} runs after one warm-up, median and p95; CPU is ffmpeg's user + system time per call (median), the
figure to compare when the machine is busy; size and mean luma (0 black, 255 white) are of the output image.

| clip | ffmpeg | poster median ms | poster p95 ms | poster CPU ms | poster KiB | poster luma | frame 0 median ms | frame 0 p95 ms | frame 0 CPU ms | frame 0 KiB | frame 0 luma |
| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |
${rows.join("\n")}

The poster decodes frames until it has ${POSTER_SAMPLE_FRAMES} that are not black (1.6 s at 30 fps, plus any black opening), so
what it costs depends on the frame size, not the clip's length; frame 0 decodes one frame. On the clip that opens on
black, frame 0 is black (luma 0) and the poster is not.

Reproduce: \`node --import tsx bench/poster-benchmark.ts\`.
`;
  const resultsDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  await mkdir(resultsDirectory, { recursive: true });
  await writeFile(path.join(resultsDirectory, "poster.md"), report);
  console.log(`wrote ${path.join(resultsDirectory, "poster.md")}`);
}

await main();
