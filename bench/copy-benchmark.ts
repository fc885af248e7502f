/**
 * Copy benchmark: `copyFromUrl` (HTTP download → probe + sha256 → S3) against two baselines measured in the same
 * run: a plain undici download to nowhere, and a lib-storage Upload of the same bytes from a local file with the same
 * part size and queue. Bodies are real MP4s padded to 10, 100 and 1000 MiB, generated on the fly. Each case runs in
 * a fresh child process (`copy-benchmark-case.ts`) that samples its RSS every 50 ms, so peaks never mix; rounds are
 * interleaved (every size and mode once, then again) so a burst of load on the machine hits all modes alike.
 *
 *   node --import tsx bench/copy-benchmark.ts [--runs 2] [--sizes 10,100,1000] [--part-size-mib 8] [--queue 4]
 *                                             [--no-write]
 *   TEST_S3_ENDPOINT=… TEST_S3_ACCESS_KEY=… TEST_S3_SECRET_KEY=… TEST_S3_BUCKET=… node --import tsx bench/copy-benchmark.ts
 *
 * Writes bench/results/copy.md unless `--no-write`.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { DEFAULT_PART_SIZE_BYTES, DEFAULT_QUEUE_SIZE } from "../src/storage/s3-object-store.ts";
import { startHttpFileServer } from "../test/helpers/http-file-server.ts";
import { makeTestMp4, paddedMp4Stream } from "../test/helpers/make-test-mp4.ts";
import { startS3rver } from "../test/setup/s3.global.ts";
import type { CaseInput, CaseResult, Mode, Target } from "./copy-benchmark-case.ts";
import { describeMachine } from "./machine.ts";

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const MODES: Mode[] = ["download", "put", "copy"];
/** Size of the untimed warm-up body each child copies first (its time is the cold figure). */
const WARM_UP_MIB = 10;
const casePath = fileURLToPath(new URL("./copy-benchmark-case.ts", import.meta.url));

/** Runs one case in a fresh child process; asynchronous, since this process serves the HTTP bodies. */
async function runChild(input: CaseInput): Promise<CaseResult> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      "--no-warnings",
      "--require",
      "tsx/cjs",
      "--eval",
      "require(process.argv[1]).runCase(JSON.parse(process.argv[2])).then(() => process.exit(0))",
      casePath,
      JSON.stringify(input),
    ],
    { encoding: "utf8", timeout: 600_000, maxBuffer: 1024 * 1024 },
  );
  const line = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as CaseResult;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(0);

/** The pid of the s3rver child this process started, from /proc (Linux); undefined elsewhere. */
async function findS3rverPid(): Promise<number | undefined> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  for (const entry of entries.filter((name) => /^\d+$/.test(name))) {
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (parent !== process.pid) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (commandLine.includes("S3rver")) return Number(entry);
  }
  return undefined;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 10 ms). */
async function processCpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Summary {
  /** Best throughput over the runs, MiB/s. */
  best: number;
  /** Worst throughput over the runs, MiB/s. */
  worst: number;
  /** Highest peak RSS over the runs (the target must hold on every run), in bytes. */
  peakRss: number;
  /** Lowest idle RSS over the runs, in bytes. */
  idleRss: number;
  /** Best and worst throughput of the cold first pass (the warm-up body), MiB/s. */
  coldBest: number;
  coldWorst: number;
}

function summarize(sizeMiB: number, results: CaseResult[]): Summary {
  const throughputs = results.map((result) => sizeMiB / result.seconds);
  return {
    best: Math.max(...throughputs),
    worst: Math.min(...throughputs),
    peakRss: Math.max(...results.map((result) => result.peakRssBytes)),
    idleRss: Math.min(...results.map((result) => result.idleRssBytes)),
    coldBest: Math.max(...results.map((result) => WARM_UP_MIB / result.coldSeconds)),
    coldWorst: Math.min(...results.map((result) => WARM_UP_MIB / result.coldSeconds)),
  };
}

const cell = (summary: Summary) =>
  `${summary.best.toFixed(1)} (${summary.worst.toFixed(1)}–${summary.best.toFixed(1)}), ${mib(summary.peakRss)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "2" },
      sizes: { type: "string", default: "10,100,1000" },
      "part-size-mib": { type: "string", default: String(DEFAULT_PART_SIZE_BYTES / MiB) },
      queue: { type: "string", default: String(DEFAULT_QUEUE_SIZE) },
      "no-write": { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const sizesMiB = values.sizes.split(",").map(Number);
  const partSizeBytes = Number(values["part-size-mib"]) * MiB;
  const queueSize = Number(values.queue);
  const external = process.env.TEST_S3_ENDPOINT;
  const s3rver = external ? undefined : await startS3rver("media");
  const target: Target = s3rver
    ? s3rver.server
    : {
        endpoint: external as string,
        region: process.env.TEST_S3_REGION ?? "us-east-1",
        accessKeyId: process.env.TEST_S3_ACCESS_KEY ?? "",
        secretAccessKey: process.env.TEST_S3_SECRET_KEY ?? "",
        bucket: process.env.TEST_S3_BUCKET ?? "media",
      };
  const head = await readFile(await makeTestMp4({ durationSeconds: 2, fps: 24, faststart: true }));
  const server = await startHttpFileServer();
  const workDirectory = await mkdtemp(join(tmpdir(), "copy-bench-"));
  const results = new Map<string, CaseResult[]>();
  const loads: number[] = [];
  const started = new Date();
  const s3rverPid = s3rver ? await findS3rverPid() : undefined;
  /** CPU seconds per case outside the child: this process (the HTTP server) and s3rver, warm-up included. */
  const outsideCpu = new Map<string, { server: number; s3: number }[]>();
  try {
    for (const sizeMiB of new Set([WARM_UP_MIB, ...sizesMiB])) {
      const bytes = sizeMiB * MiB;
      server.route(`/body-${sizeMiB}.mp4`, { stream: () => paddedMp4Stream(head, bytes), length: bytes });
      await pipeline(
        paddedMp4Stream(head, bytes),
        createWriteStream(join(workDirectory, `body-${sizeMiB}.mp4`)),
      );
    }
    for (let run = 1; run <= runs; run += 1) {
      for (const sizeMiB of sizesMiB) {
        for (const mode of MODES) {
          loads.push(loadavg()[0] ?? 0);
          const serverCpuBefore = process.cpuUsage();
          const s3CpuBefore = await processCpuSeconds(s3rverPid);
          const result = await runChild({
            mode,
            bytes: sizeMiB * MiB,
            url: server.url(`/body-${sizeMiB}.mp4`),
            file: join(workDirectory, `body-${sizeMiB}.mp4`),
            allowHost: `127.0.0.1:${server.port}`,
            target,
            warmUp: {
              url: server.url(`/body-${WARM_UP_MIB}.mp4`),
              file: join(workDirectory, `body-${WARM_UP_MIB}.mp4`),
              bytes: WARM_UP_MIB * MiB,
            },
            key: `bench/${mode}-${sizeMiB}.mp4`,
            partSizeBytes,
            queueSize,
          });
          const serverCpu = process.cpuUsage(serverCpuBefore);
          const cpu = {
            server: (serverCpu.user + serverCpu.system) / 1e6,
            s3: (await processCpuSeconds(s3rverPid)) - s3CpuBefore,
          };
          const key = `${sizeMiB}/${mode}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          outsideCpu.set(key, [...(outsideCpu.get(key) ?? []), cpu]);
          console.log(
            `run ${run} ${sizeMiB} MiB ${mode}: ${(sizeMiB / result.seconds).toFixed(1)} MiB/s ` +
              `(cold ${WARM_UP_MIB} MiB: ${(WARM_UP_MIB / result.coldSeconds).toFixed(1)}), ` +
              `idle ${mib(result.idleRssBytes)} MiB, peak ${mib(result.peakRssBytes)} MiB, cpu ${result.cpuSeconds.toFixed(2)} s ` +
              `(HTTP server ${cpu.server.toFixed(2)} s, s3rver ${cpu.s3.toFixed(2)} s), load ${loads.at(-1)?.toFixed(1)}`,
          );
        }
      }
    }
  } finally {
    await server.close();
    await s3rver?.stop();
    await rm(workDirectory, { recursive: true, force: true });
  }
  const rows: string[] = [];
  const failures: string[] = [];
  for (const sizeMiB of sizesMiB) {
    const [download, put, copy] = MODES.map((mode) =>
      summarize(sizeMiB, results.get(`${sizeMiB}/${mode}`) ?? []),
    );
    if (!download || !put || !copy) continue;
    const slower = Math.min(download.best, put.best);
    const ratio = copy.best / slower;
    if (ratio < 0.8) failures.push(`${sizeMiB} MiB: copy at ${ratio.toFixed(3)} × the slower baseline`);
    if (copy.peakRss >= 200 * MiB) failures.push(`${sizeMiB} MiB: copy peak RSS ${mib(copy.peakRss)} MiB`);
    rows.push(
      `| ${sizeMiB} MiB | ${cell(download)} | ${cell(put)} | **${cell(copy)}** | ${mib(copy.idleRss)} MiB | ` +
        `${ratio.toFixed(3)} |`,
    );
  }
  const allCold = MODES.map((mode) =>
    summarize(
      WARM_UP_MIB,
      sizesMiB.flatMap((sizeMiB) => results.get(`${sizeMiB}/${mode}`) ?? []),
    ),
  );
  const [coldDownload, coldPut, coldCopy] = allCold;
  const coldCell = (summary: Summary | undefined) =>
    summary
      ? `${summary.coldBest.toFixed(1)} (${summary.coldWorst.toFixed(1)}–${summary.coldBest.toFixed(1)})`
      : "";
  const coldRatio =
    coldCopy && coldDownload && coldPut
      ? coldCopy.coldBest / Math.min(coldDownload.coldBest, coldPut.coldBest)
      : Number.NaN;
  // CPU per GiB moved (both passes: the size plus the warm-up body), averaged over the runs: the copy needs a
  // download source and hashes every byte, and on a shared two-core machine every CPU second counts.
  const cpuRows = sizesMiB.map((sizeMiB) => {
    const gibibytes = (sizeMiB + WARM_UP_MIB) / 1024;
    const cells = MODES.filter((mode) => mode !== "download").map((mode) => {
      const key = `${sizeMiB}/${mode}`;
      const mean = (values: number[]) =>
        values.reduce((sum, value) => sum + value, 0) / values.length / gibibytes;
      const child = mean((results.get(key) ?? []).map((result) => result.cpuSeconds));
      const source = mean((outsideCpu.get(key) ?? []).map((cpu) => cpu.server));
      const s3 = mean((outsideCpu.get(key) ?? []).map((cpu) => cpu.s3));
      return `${child.toFixed(1)} + ${source.toFixed(1)} + ${s3.toFixed(1)} = ${(child + source + s3).toFixed(1)}`;
    });
    return `| ${sizeMiB} MiB | ${cells.join(" | ")} |`;
  });
  const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
  const report = [
    "# Copy benchmark: `copyFromUrl` into S3",
    "",
    `Date: ${started.toISOString().slice(0, 16).replace("T", " ")} UTC. Machine: ${describeMachine()}. ` +
      `S3 server: ${external ? `external (${external})` : "s3rver 3.7.1 (child process, 127.0.0.1)"}. ` +
      `1-minute load average during the run: ${load} (other work shared the machine when it was above the core count).`,
    "",
    "Bodies: a real 2 s H.264 MP4 padded with a `free` box to the size, served over HTTP on 127.0.0.1 (generated on",
    "the fly). Every case runs in a fresh child process started the same way (`node --require tsx/cjs`, see",
    "`copy-benchmark-case.ts`), and the rounds are interleaved. Baselines: an undici download to nowhere, and a",
    `lib-storage \`Upload\` of the same bytes from a local file. The Upload and \`copyFromUrl\` use the same part size`,
    `(${partSizeBytes / MiB} MiB) and queue (${queueSize}); the copy adds the URL guard, the MP4 probe, sha256 and a HEAD`,
    "that verifies the stored length.",
    "",
    `Each cell: best throughput in MiB/s over ${runs} runs (worst–best), then the highest peak RSS over those runs`,
    "(sampled every 50 ms). Idle RSS: the copy child after loading everything, before copying.",
    "",
    "Warm: each child first runs an untimed pass of the same work on a 10 MiB body (code compiled, keep-alive",
    "connections open, as in a worker that has copied before), then the measured pass. Cold: that first pass, over",
    "all the children of a mode; it carries the process's one-time costs, which the copy has more of (HTTP client,",
    "URL guard, probe and mp4box code paths).",
    "",
    "| Size | Download baseline | Upload baseline | copyFromUrl | copy idle RSS | best copy ÷ best slower baseline |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    `| cold ${WARM_UP_MIB} MiB (MiB/s) | ${coldCell(coldDownload)} | ${coldCell(coldPut)} | **${coldCell(coldCopy)}** | | ${coldRatio.toFixed(3)} |`,
    "",
    "CPU seconds per GiB moved (mean over the runs; both passes): the measuring child + the HTTP source (this",
    "benchmark's parent; idle for the Upload) + s3rver.",
    "",
    "| Size | Upload baseline | copyFromUrl |",
    "| --- | --- | --- |",
    ...cpuRows,
    "",
    `Targets: throughput ≥ 0.8 × the slower baseline and peak RSS < 200 MiB at every size: ${
      failures.length === 0 ? "**met**" : `**missed** (${failures.join("; ")})`
    }.`,
    "",
    "Run it: `node --import tsx bench/copy-benchmark.ts` (s3rver), or with `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY`,",
    "`TEST_S3_SECRET_KEY`, `TEST_S3_BUCKET` set (e.g. from `scripts/start-radosgw.sh`). Options: `--runs N`,",
    "`--sizes 10,100`, `--part-size-mib N`, `--queue N`, `--no-write`.",
    "",
  ].join("\n");
  console.log(`\n${rows.join("\n")}\n${failures.join("; ") || "targets met"}`);
  if (values["no-write"]) return;
  const resultsPath = join(dirname(fileURLToPath(import.meta.url)), "results", "copy.md");
  await writeFile(resultsPath, report);
  console.log(`wrote ${resultsPath}`);
}

await main();
