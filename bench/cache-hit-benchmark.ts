/**
 * The cache-hit path in process: a request identical to a stored generation, from event to result, with zero provider
 * calls. Uses the default embedded database (PGlite) and local video directory, or PostgreSQL when DATABASE_URL is set.
 *   node --import tsx bench/cache-hit-benchmark.ts [--requests 200]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { composeStage } from "../src/compose-stage.ts";
import { loadConfig } from "../src/config.ts";
import { generateInProcess } from "../src/runner/generate-in-process.ts";
import { startSandbox } from "../src/sandbox/index.ts";
import { describeMachine, percentile } from "./machine.ts";

const { values } = parseArgs({ options: { requests: { type: "string", default: "200" } } });
const requests = Number(values.requests);
const sandbox = await startSandbox({ timings: { pendingMs: 200, renderMs: 500 } });
const outputDir = await mkdtemp(path.join(tmpdir(), "video-gen-cache-bench-"));
const runtime = await composeStage(
  loadConfig({
    DASHSCOPE_API_KEY: sandbox.apiKey,
    DASHSCOPE_HTTP_BASE_URL: sandbox.baseUrl,
    OUTPUT_DIR: outputDir,
    DATABASE_URL: process.env.DATABASE_URL,
    VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
    VIDEO_GEN_RENDER_ESTIMATE_S: "1",
  }),
  { localImages: "any" },
);
const request = {
  prompt: "waves roll in at sunset, a small sailboat drifts",
  reference_image: path.resolve("fixtures/sample-reference.jpg"),
  duration: 5,
};

const first = await generateInProcess(request, runtime.dependencies);
if (first.status !== "succeeded") throw new Error(`first generation failed: ${JSON.stringify(first)}`);
const before = sandbox.stats();

const latencies: number[] = [];
for (let index = 0; index < requests; index++) {
  const started = performance.now();
  const outcome = await generateInProcess(
    { ...request, generation_id: `cache-bench-${index}` },
    runtime.dependencies,
  );
  latencies.push(performance.now() - started);
  if (outcome.status !== "succeeded" || !outcome.response.cache_hit)
    throw new Error(`request ${index} was not a cache hit`);
}
const after = sandbox.stats();
const providerCalls =
  after.statusQueries -
  before.statusQueries +
  (after.tasksCreated - before.tasksCreated) +
  (after.uploads - before.uploads);
latencies.sort((a, b) => a - b);

const database = process.env.DATABASE_URL ? "PostgreSQL (DATABASE_URL)" : "embedded PGlite";
const table = [
  `| requests | database | p50 ms | p95 ms | max ms | provider calls |`,
  `|---:|---|---:|---:|---:|---:|`,
  `| ${requests} | ${database} | ${percentile(latencies, 0.5).toFixed(1)} | ${percentile(latencies, 0.95).toFixed(1)} | ${latencies.at(-1)?.toFixed(1)} | ${providerCalls} |`,
].join("\n");
const report = `# Cache-hit path (in process)\n\nMachine: ${describeMachine()}\nDate: ${new Date().toISOString().slice(0, 10)}\n\nEach request is identical to a stored generation (same prompt, image bytes and parameters) with its own generation id: validate, resolve-image (read + sha256 of the image), cache-check (record lookup + object existence), persist, notify.\n\n${table}\n`;
console.log(report);
await writeFile(`bench/results/cache-hit${process.env.DATABASE_URL ? "-postgres" : ""}.md`, report);

await runtime.close();
await sandbox.close();
await rm(outputDir, { recursive: true, force: true });
if (providerCalls !== 0) process.exitCode = 1;
