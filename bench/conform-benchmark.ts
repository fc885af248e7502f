/**
 * Cost of the conform pass (src/media/conform-video.ts): wall seconds per output second and peak RSS of ffmpeg, for
 * 5 s and 15 s clips at 720P and 1080P, with the system ffmpeg (when installed) and the npm build.
 * Run: node --import tsx bench/conform-benchmark.ts   → writes bench/results/conform.md
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CONFORM_X264, conformArguments } from "../src/media/conform-video.ts";
import { locateFfmpeg } from "../src/media/ffmpeg-path.ts";

const execFileAsync = promisify(execFile);
const TIME = "/usr/bin/time";

const tiers = [
  { tier: "720P", input: [1280, 720], output: [1024, 576] },
  { tier: "1080P", input: [1920, 1080], output: [1600, 900] },
] as const;
const durations = [5, 15];

interface Measurement {
  wallSeconds: number;
  /** User plus system CPU seconds of ffmpeg: unlike wall time, barely moved by other load on the machine. */
  cpuSeconds: number | undefined;
  peakRssMiB: number | undefined;
  frames: number;
  bytes: number;
}

/** Runs ffmpeg under GNU time (peak RSS of ffmpeg itself), or alone when GNU time is absent. */
async function measure(
  ffmpegPath: string,
  args: string[],
  outputPath: string,
  ffprobe: string,
): Promise<Measurement> {
  const timeFile = `${outputPath}.time`;
  const useTime = existsSync(TIME);
  const [command, commandArgs] = useTime
    ? [TIME, ["-v", "-o", timeFile, ffmpegPath, "-nostdin", ...args]]
    : [ffmpegPath, ["-nostdin", ...args]];
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
  const wallSeconds = (performance.now() - started) / 1000;
  let peakRssMiB: number | undefined;
  let cpuSeconds: number | undefined;
  if (useTime) {
    const report = await readFile(timeFile, "utf8");
    const field = (name: string) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(report)?.[1] ?? Number.NaN);
    peakRssMiB = field("Maximum resident set size \\(kbytes\\)") / 1024;
    cpuSeconds = field("User time \\(seconds\\)") + field("System time \\(seconds\\)");
  }
  const { stdout } = await execFileAsync(ffprobe, [
    ...["-v", "error", "-count_packets", "-select_streams", "v:0"],
    ...["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", outputPath],
  ]);
  return {
    wallSeconds,
    cpuSeconds,
    peakRssMiB,
    frames: Number(stdout.trim()),
    bytes: (await stat(outputPath)).size,
  };
}

async function makeInput(
  ffmpegPath: string,
  width: number,
  height: number,
  seconds: number,
  outputPath: string,
) {
  // A detailed still (a Mandelbrot frame) under a slow zoom, as an image-to-video render mostly is: a camera move over
  // one picture. Pure noise would overstate the encoder's work several times; a plain test card would understate it.
  const stillPath = `${outputPath}.png`;
  const quiet = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
  await execFileAsync(ffmpegPath, [
    ...quiet,
    ...[
      "-f",
      "lavfi",
      "-i",
      `mandelbrot=size=${width * 2}x${height * 2}:rate=1:start_scale=0.5`,
      "-frames:v",
      "1",
    ],
    stillPath,
  ]);
  const zoom = `zoompan=z='min(zoom+0.0015,1.5)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${seconds * 30}:s=${width}x${height}:fps=30`;
  await execFileAsync(ffmpegPath, [
    ...quiet,
    ...["-i", stillPath, "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=44100:duration=${seconds}`],
    ...["-vf", `${zoom},format=yuv420p`, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
    ...["-c:a", "aac", "-ac", "2", "-shortest", "-movflags", "+faststart", outputPath],
  ]);
}

async function versionOf(ffmpegPath: string): Promise<string> {
  const { stdout } = await execFileAsync(ffmpegPath, ["-version"]);
  return stdout.split("\n")[0]!.replace(/ Copyright.*/, "");
}

/** A measured value (optionally per output second) or n/a when GNU time was not available. */
const optional = (value: number | undefined, perSeconds = 1) =>
  value === undefined || Number.isNaN(value) ? "n/a" : (value / perSeconds).toFixed(perSeconds === 1 ? 0 : 2);

async function main() {
  const loadBefore = os.loadavg()[0]!;
  const located = locateFfmpeg();
  if (!located.ffmpeg || !located.ffprobe)
    throw new Error("ffmpeg and ffprobe are needed (npm ci, or install ffmpeg)");
  const ffprobe = located.ffprobe;
  const npmFfmpeg = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  const binaries: Array<{ label: string; path: string }> = [];
  if (located.ffmpeg !== npmFfmpeg) binaries.push({ label: "system", path: located.ffmpeg });
  binaries.push({ label: "npm", path: npmFfmpeg });

  const directory = await mkdtemp(path.join(os.tmpdir(), "conform-bench-"));
  const rows: string[] = [];
  const presetRows: string[] = [];
  try {
    for (const { tier, input, output } of tiers) {
      for (const seconds of durations) {
        const inputPath = path.join(directory, `input-${tier}-${seconds}.mp4`);
        await makeInput(binaries[0]!.path, input[0], input[1], seconds, inputPath);
        for (const binary of binaries) {
          const outputPath = path.join(directory, `output-${binary.label}-${tier}-${seconds}.mp4`);
          const args = conformArguments({
            inputPath,
            outputPath,
            fps: 24,
            width: output[0],
            height: output[1],
          });
          const result = await measure(binary.path, args, outputPath, ffprobe);
          const perSecond = result.wallSeconds / seconds;
          rows.push(
            `| ${binary.label} | ${tier} ${input.join("x")} → ${output.join("x")} | ${seconds} | ${result.frames} | ${result.wallSeconds.toFixed(2)} | ${perSecond.toFixed(2)} | ${optional(result.cpuSeconds, seconds)} | ${optional(result.peakRssMiB)} | ${(result.bytes / 1024 / 1024).toFixed(2)} |`,
          );
          console.log(rows.at(-1));
        }
      }
    }

    // The preset choice: the same 1080P 5 s conform with the first binary at three presets.
    const inputPath = path.join(directory, "input-1080P-5.mp4");
    for (const preset of ["veryfast", "faster", "fast", "medium"]) {
      const outputPath = path.join(directory, `preset-${preset}.mp4`);
      const args = conformArguments({ inputPath, outputPath, fps: 24, width: 1600, height: 900 });
      args[args.indexOf("-preset") + 1] = preset;
      const result = await measure(binaries[0]!.path, args, outputPath, ffprobe);
      presetRows.push(
        `| ${preset} | ${result.wallSeconds.toFixed(2)} | ${(result.wallSeconds / 5).toFixed(2)} | ${optional(result.cpuSeconds, 5)} | ${(result.bytes / 1024 / 1024).toFixed(2)} |`,
      );
      console.log(presetRows.at(-1));
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }

  const loadAfter = os.loadavg()[0]!;
  const cpus = os.cpus();
  const versions = await Promise.all(
    binaries.map(async (binary) => `- ${binary.label}: ${await versionOf(binary.path)}`),
  );
  const report = `# Conform pass benchmark

Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? "unknown"}),
${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}.
One-minute load average ${loadBefore.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end: with other work on the
machine, wall times stretch; the CPU-seconds column (user + system of ffmpeg) is the figure to compare.

ffmpeg builds:
${versions.join("\n")}

Input: H.264 at 30 fps made by ffmpeg (a slow zoom over a detailed still, like an image-to-video render; AAC tone). Output: the conform pass as shipped
(\`fps=24\`, scale to a different size at the same aspect, \`setsar=1\`, libx264 preset ${CONFORM_X264.preset} CRF ${CONFORM_X264.crf}, yuv420p, audio copied,
+faststart). One run per row. "s per output s" is wall time divided by the clip's duration; peak RSS is ffmpeg's
own maximum resident set size (GNU time).

| ffmpeg | size | clip s | frames out | wall s | wall s per output s | CPU s per output s | peak RSS MiB | output MiB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

## Preset choice (1080P 5 s, ${binaries[0]!.label} ffmpeg, CRF ${CONFORM_X264.crf})

| preset | wall s | wall s per output s | CPU s per output s | output MiB |
| --- | --- | --- | --- | --- |
${presetRows.join("\n")}

Reproduce: \`node --import tsx bench/conform-benchmark.ts\`.
`;
  const resultsDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  await mkdir(resultsDirectory, { recursive: true });
  await writeFile(path.join(resultsDirectory, "conform.md"), report);
  console.log(`wrote ${path.join(resultsDirectory, "conform.md")}`);
}

await main();
