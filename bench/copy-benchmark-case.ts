/**
 * One case of the copy benchmark, run alone in a fresh child process by `copy-benchmark.ts`: a plain download, a
 * lib-storage Upload from a local file, or `copyFromUrl`. Prints one JSON line ({@link CaseResult}).
 *
 * The parent starts this module with `node --require tsx/cjs`, tsx's in-thread require hook, not `--import tsx`: the
 * ESM loader hooks run on a worker thread with a V8 heap of its own, about 30 MiB of RSS that has nothing to do with
 * what is measured (an idle child: about 100 MiB with `--import tsx`, about 70 MiB with `--require tsx/cjs`, 62 MiB
 * for plain Node with the AWS SDK loaded). All three modes start the same way, so they stay comparable. As a
 * CommonJS module this file may not use top-level await or `import.meta`.
 */
import { createReadStream } from "node:fs";
import { Upload } from "@aws-sdk/lib-storage";
import { request } from "undici";
import { createSafeFetcher } from "../src/net/safe-fetch.ts";
import { createUrlGuard } from "../src/net/url-guard.ts";
import { createS3Client, createS3ObjectStore } from "../src/storage/index.ts";

const MiB = 1024 * 1024;

/** What is measured: download to nowhere, Upload of a local file, or the store's copy. */
export type Mode = "download" | "put" | "copy";

/** The S3 server and bucket written to. */
export interface Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

/** One case, passed as JSON on the command line. */
export interface CaseInput {
  mode: Mode;
  bytes: number;
  /** The body over HTTP (download and copy). */
  url: string;
  /** The same body as a local file (put). */
  file: string;
  /** A small body (URL and file) for the untimed warm-up pass. */
  warmUp: { url: string; file: string; bytes: number };
  /** `host:port` of the HTTP server, exempted from the URL guard. */
  allowHost: string;
  target: Target;
  key: string;
  /** Multipart part size in bytes, the same for the Upload baseline and the copy. */
  partSizeBytes: number;
  /** Parts in flight, the same for the Upload baseline and the copy. */
  queueSize: number;
}

/** What one case measured. */
export interface CaseResult {
  /** The first pass in the fresh process: the warm-up body, with JIT compilation and lazy initialisation. */
  coldSeconds: number;
  /** The measured pass, once the process is warm (connections kept alive, code compiled). */
  seconds: number;
  /** RSS once everything is loaded and the client exists, just before the timed work, in bytes. */
  idleRssBytes: number;
  /** Highest RSS seen during the timed work (sampled every 50 ms, and at both ends), in bytes. */
  peakRssBytes: number;
  /** CPU time (user + system) this process spent on both passes, in seconds. */
  cpuSeconds: number;
}

/** Runs one case in this process and prints its result as one JSON line. */
export async function runCase(input: CaseInput): Promise<void> {
  const client = createS3Client({
    region: input.target.region,
    endpoint: input.target.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: input.target.accessKeyId, secretAccessKey: input.target.secretAccessKey },
  });
  const store = createS3ObjectStore({
    client,
    bucket: input.target.bucket,
    fetcher: createSafeFetcher({
      guard: createUrlGuard({ allowHosts: [input.allowHost] }),
      maxBytes: 2 * 1024 * MiB,
    }),
    maxVideoBytes: 2 * 1024 * MiB,
    partSizeBytes: input.partSizeBytes,
    queueSize: input.queueSize,
  });
  /** One pass of the case's work on one body. */
  async function pass(body: { url: string; file: string; bytes: number }): Promise<void> {
    if (input.mode === "download") {
      const response = await request(body.url);
      let received = 0;
      for await (const chunk of response.body) received += (chunk as Buffer).byteLength;
      if (received !== body.bytes) throw new Error(`downloaded ${received} bytes, expected ${body.bytes}`);
    } else if (input.mode === "put") {
      await new Upload({
        client,
        params: {
          Bucket: input.target.bucket,
          Key: input.key,
          Body: createReadStream(body.file),
          ContentType: "video/mp4",
        },
        partSize: input.partSizeBytes,
        queueSize: input.queueSize,
      }).done();
    } else {
      const stored = await store.copyFromUrl(body.url, input.key);
      if (stored.bytes !== body.bytes)
        throw new Error(`stored ${stored.bytes} bytes, expected ${body.bytes}`);
    }
  }
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  // The warm-up pass compiles the code paths and opens the keep-alive connections, as in a worker that has copied
  // before; its time is reported as the cold figure. Peak RSS covers both passes.
  const cpuBefore = process.cpuUsage();
  const coldStarted = performance.now();
  await pass(input.warmUp);
  const coldSeconds = (performance.now() - coldStarted) / 1000;
  const started = performance.now();
  await pass({ url: input.url, file: input.file, bytes: input.bytes });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  client.destroy();
  process.stdout.write(
    `${JSON.stringify({ coldSeconds, seconds, idleRssBytes: idle, peakRssBytes: peak, cpuSeconds } satisfies CaseResult)}\n`,
  );
}
