/**
 * Copy benchmark: `copyFromUrl` (HTTP download → probe + sha256 → S3 multipart) against two baselines measured in the
 * same run: a plain undici download to nowhere, and a lib-storage Upload of the same bytes from a local file.
 * Bodies are real MP4s padded to 10, 100 and 1000 MiB, generated on the fly. Each case runs in a fresh child
 * process that samples its RSS every 50 ms, so peaks never mix.
 *
 *   node --import tsx bench/copy-benchmark.ts            # against s3rver, started here
 *   TEST_S3_ENDPOINT=… TEST_S3_ACCESS_KEY=… TEST_S3_SECRET_KEY=… TEST_S3_BUCKET=… node --import tsx bench/copy-benchmark.ts
 *
 * Writes bench/results/copy.md.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createReadStream } from "node:fs";
import { Upload } from "@aws-sdk/lib-storage";
import { request } from "undici";
import { createSafeFetcher } from "../src/net/safe-fetch.ts";
import { createUrlGuard } from "../src/net/url-guard.ts";
import { createS3Client, createS3ObjectStore } from "../src/storage/index.ts";
import { startHttpFileServer } from "../test/helpers/http-file-server.ts";
import { makeTestMp4, paddedMp4Stream } from "../test/helpers/make-test-mp4.ts";
import { startS3rver } from "../test/setup/s3.global.ts";

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const SIZES_MIB = [10, 100, 1000];
type Mode = "download" | "put" | "copy";

interface Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

interface CaseInput {
  mode: Mode;
  bytes: number;
  url: string;
  file: string;
  allowHost: string;
  target: Target;
  key: string;
}

interface CaseResult {
  seconds: number;
  peakRssBytes: number;
}

function s3Client(target: Target) {
  return createS3Client({
    region: target.region,
    endpoint: target.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  });
}

/** Runs one case in this (child) process and prints its result as JSON. */
async function runCase(input: CaseInput): Promise<void> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const client = s3Client(input.target);
  const started = performance.now();
  if (input.mode === "download") {
    const response = await request(input.url);
    let received = 0;
    for await (const chunk of response.body) received += (chunk as Buffer).byteLength;
    if (received !== input.bytes) throw new Error(`downloaded ${received} bytes, expected ${input.bytes}`);
  } else if (input.mode === "put") {
    await new Upload({
      client,
      params: {
        Bucket: input.target.bucket,
        Key: input.key,
        Body: createReadStream(input.file),
        ContentType: "video/mp4",
      },
      partSize: 8 * MiB,
      queueSize: 4,
    }).done();
  } else {
    const store = createS3ObjectStore({
      client,
      bucket: input.target.bucket,
      fetcher: createSafeFetcher({
        guard: createUrlGuard({ allowHosts: [input.allowHost] }),
        maxBytes: 2 * 1024 * MiB,
      }),
      maxVideoBytes: 2 * 1024 * MiB,
    });
    const stored = await store.copyFromUrl(input.url, input.key);
    if (stored.bytes !== input.bytes)
      throw new Error(`stored ${stored.bytes} bytes, expected ${input.bytes}`);
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  client.destroy();
  process.stdout.write(`${JSON.stringify({ seconds, peakRssBytes: peak } satisfies CaseResult)}\n`);
}

/** Runs one case in a fresh child process; asynchronous, since this process serves the HTTP bodies. */
async function runChild(input: CaseInput): Promise<CaseResult> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--no-warnings", "--import", "tsx", fileURLToPath(import.meta.url), "--case", JSON.stringify(input)],
    { encoding: "utf8", timeout: 600_000, maxBuffer: 1024 * 1024 },
  );
  const line = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as CaseResult;
}

async function main(): Promise<void> {
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
  const rows: string[] = [];
  const failures: string[] = [];
  try {
    for (const sizeMiB of SIZES_MIB) {
      const bytes = sizeMiB * MiB;
      server.route(`/body-${sizeMiB}.mp4`, { stream: () => paddedMp4Stream(head, bytes), length: bytes });
      const file = join(workDirectory, `body-${sizeMiB}.mp4`);
      await pipeline(paddedMp4Stream(head, bytes), createWriteStream(file));
      const results = {} as Record<Mode, CaseResult>;
      for (const mode of ["download", "put", "copy"] as const) {
        results[mode] = await runChild({
          mode,
          bytes,
          url: server.url(`/body-${sizeMiB}.mp4`),
          file,
          allowHost: `127.0.0.1:${server.port}`,
          target,
          key: `bench/${mode}-${sizeMiB}.mp4`,
        });
      }
      await rm(file, { force: true });
      const throughput = (mode: Mode) => sizeMiB / results[mode].seconds;
      const slower = Math.min(throughput("download"), throughput("put"));
      const ratio = throughput("copy") / slower;
      const peakMiB = (mode: Mode) => results[mode].peakRssBytes / MiB;
      if (ratio < 0.8) failures.push(`${sizeMiB} MiB: copy at ${ratio.toFixed(2)} × the slower baseline`);
      if (peakMiB("copy") >= 200)
        failures.push(`${sizeMiB} MiB: copy peak RSS ${peakMiB("copy").toFixed(0)} MiB`);
      rows.push(
        `| ${sizeMiB} MiB | ${throughput("download").toFixed(1)} MiB/s (${peakMiB("download").toFixed(0)} MiB) | ` +
          `${throughput("put").toFixed(1)} MiB/s (${peakMiB("put").toFixed(0)} MiB) | ` +
          `**${throughput("copy").toFixed(1)} MiB/s** (${peakMiB("copy").toFixed(0)} MiB) | ${ratio.toFixed(2)} |`,
      );
      console.log(rows.at(-1));
    }
  } finally {
    await server.close();
    await s3rver?.stop();
    await rm(workDirectory, { recursive: true, force: true });
  }
  const cpuModel = cpus()[0]?.model ?? "unknown";
  const report = [
    "# Copy benchmark: `copyFromUrl` into S3",
    "",
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${cpus().length} CPUs (${cpuModel}), ` +
      `${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}. ` +
      `S3 server: ${external ? `external (${external})` : "s3rver 3.7.1 (child process, 127.0.0.1)"}.`,
    "",
    "Bodies: a real 2 s H.264 MP4 padded with a `free` box to the size, served over HTTP on 127.0.0.1 (generated on",
    "the fly). Each cell is one run in a fresh child process: throughput, and in parentheses that process's peak RSS",
    "(sampled every 50 ms). Baselines: an undici download to nowhere, and a lib-storage `Upload` (8 MiB parts, queue 4)",
    "of the same bytes from a local file. `copyFromUrl` uses the same part size and queue, plus the URL guard, the",
    "MP4 probe, sha256, and a HEAD to verify the stored length.",
    "",
    "| Size | Download baseline | PutObject (Upload) baseline | copyFromUrl | copy ÷ slower baseline |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `Targets: throughput ≥ 0.8 × the slower baseline and peak RSS < 200 MiB at every size: ${
      failures.length === 0 ? "**met**" : `**missed** (${failures.join("; ")})`
    }.`,
    "",
    "Run it: `node --import tsx bench/copy-benchmark.ts` (s3rver), or with `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY`,",
    "`TEST_S3_SECRET_KEY`, `TEST_S3_BUCKET` set (e.g. from `scripts/start-radosgw.sh`).",
    "",
  ].join("\n");
  const resultsPath = join(dirname(fileURLToPath(import.meta.url)), "results", "copy.md");
  await writeFile(resultsPath, report);
  console.log(`\nwrote ${resultsPath}`);
}

const caseIndex = process.argv.indexOf("--case");
if (caseIndex >= 0) {
  await runCase(JSON.parse(process.argv[caseIndex + 1] ?? "{}") as CaseInput);
  // Idle keep-alive sockets would hold the child open.
  process.exit(0);
} else {
  await main();
}
