import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { composeStage } from "../../src/compose-stage.ts";
import { loadConfig } from "../../src/config.ts";
import { startSandbox } from "../../src/providers/sandbox/index.ts";
import { type GenerationOutcome, generateInProcess } from "../../src/runner/generate-in-process.ts";
import type { RunnerClock } from "../../src/runner/runner-clock.ts";
import { type ReliabilityTally, tallyRuns } from "./reliability-checks.ts";

/** The documented typical render time of wan2.6-i2v-flash (third-party estimate, dashscope.md §5), in seconds. */
export const DOCUMENTED_RENDER_RANGE_S = { min: 45, max: 180 } as const;

export interface LoadOptions {
  /** Requests fanned out at once. */
  requests: number;
  /** Share of the requests that repeat an earlier one (same parameters, another generation id). Default 0.25. */
  duplicateShare?: number;
  /** Real time is divided by this: render times, the stage's sleeps and backoffs alike. Default 60. */
  timeScale?: number;
  /** The stage's in-flight budget. Default 5 (the documented concurrency). */
  budget?: number;
  /** Sandbox limits: concurrent tasks and submits per second. Default 5 and 5 (documented). */
  concurrencyLimit?: number;
  submitsPerSecond?: number;
  /** Time a task stays PENDING before it runs, real milliseconds. Default 100. */
  pendingMs?: number;
  /** PostgreSQL database URL for the metadata store. */
  databaseUrl: string;
  /** Seed of the render-time draw (deterministic figures). Default 1. */
  seed?: number;
}

export interface LoadResult {
  requests: number;
  distinctRequests: number;
  answered: number;
  succeeded: number;
  failures: string[];
  tally: ReliabilityTally;
  peakInFlight: number;
  /** 429s the sandbox answered (rate or concurrency), all absorbed by the stage's retries. */
  throttled: number;
  /** Step retries the runner made because of throttling (submit step). */
  submitRetries: number;
  makespanMs: number;
  /** Σ(pending + drawn render time) ÷ budget: the makespan of a perfect scheduler for this budget. */
  renderBoundMs: number;
  /** Distinct requests ÷ submits per second: the pacing bound. */
  pacingBoundMs: number;
  /** max(render bound, pacing bound). */
  theoreticalMinimumMs: number;
  /** Σ of the measured task lifetimes at the provider (submit → end) ÷ budget: includes the sandbox's ffmpeg time. */
  measuredOccupancyBoundMs: number;
  peakRssBytes: number;
  timeScale: number;
  renderRangeMs: { min: number; max: number };
}

/** A small deterministic generator (mulberry32), so every run draws the same render times. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function scaledClock(factor: number): RunnerClock {
  return {
    now: () => new Date(),
    sleep: (milliseconds, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(resolve, milliseconds / factor);
        signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
  };
}

const SAMPLE_IMAGE = fileURLToPath(new URL("../../fixtures/sample-reference.jpg", import.meta.url));

/**
 * Fans `requests` generations out at once through `generateInProcess` in this process, with shared dependencies
 * (real DashScope client → sandbox with the documented limits, local store in a temp dir, PostgreSQL), a share of
 * them duplicates of others, and render times drawn uniformly from the documented range divided by `timeScale`.
 * The stage's own clock runs `timeScale` times faster too, so its poll schedule and backoffs keep their proportions.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeScale = options.timeScale ?? 60;
  const budget = options.budget ?? 5;
  const pendingMs = options.pendingMs ?? 100;
  const submitsPerSecond = options.submitsPerSecond ?? 5;
  const duplicateShare = options.duplicateShare ?? 0.25;
  const random = randomSource(options.seed ?? 1);
  const distinct = Math.max(1, Math.round(options.requests * (1 - duplicateShare)));
  const renderRangeMs = {
    min: (DOCUMENTED_RENDER_RANGE_S.min * 1000) / timeScale,
    max: (DOCUMENTED_RENDER_RANGE_S.max * 1000) / timeScale,
  };
  const prompts = Array.from(
    { length: distinct },
    (_, index) => `load request ${index}: a harbour at dawn, gulls`,
  );
  const renderByPrompt = new Map(
    prompts.map((prompt) => [prompt, renderRangeMs.min + random() * (renderRangeMs.max - renderRangeMs.min)]),
  );
  // The first `distinct` requests are all different; the rest repeat randomly chosen ones.
  const requestPrompts = [
    ...prompts,
    ...Array.from({ length: options.requests - distinct }, () => prompts[Math.floor(random() * distinct)]!),
  ];

  const sandbox = await startSandbox({
    apiKey: "sk-sandbox-load",
    concurrencyLimit: options.concurrencyLimit ?? 5,
    submitsPerSecond,
    timings: { pendingMs, renderMs: (task) => renderByPrompt.get(task.prompt ?? "") ?? renderRangeMs.max },
  });
  const outputDir = await mkdtemp(path.join(tmpdir(), "video-gen-load-"));
  const config = loadConfig({
    DASHSCOPE_API_KEY: sandbox.apiKey,
    DASHSCOPE_HTTP_BASE_URL: sandbox.baseUrl,
    OUTPUT_DIR: outputDir,
    DATABASE_URL: options.databaseUrl,
    VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
    VIDEO_GEN_BUDGET: String(budget),
    // No VIDEO_GEN_RENDER_ESTIMATE_S: the poll schedule uses its own table (45 s for 2 s at 720P), as in production,
    // on the scaled clock.
  });
  const runtime = await composeStage(config, { localImages: "any" });
  const clock = scaledClock(timeScale);
  let submitRetries = 0;
  let peakRssBytes = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 100);
  try {
    const startedAt = performance.now();
    const outcomes: GenerationOutcome[] = await Promise.all(
      requestPrompts.map((prompt, index) =>
        generateInProcess(
          { prompt, reference_image: SAMPLE_IMAGE, duration: 2, generation_id: `load-${index}` },
          runtime.dependencies,
          {
            clock,
            onStep: (event) => {
              if (event.kind === "step-retrying" && event.id === "submit") submitRetries += 1;
            },
          },
        ),
      ),
    );
    const makespanMs = performance.now() - startedAt;
    const tally = await tallyRuns({
      outcomes,
      sandbox,
      objectStore: runtime.dependencies.objectStore,
      metadataStore: runtime.dependencies.metadataStore,
    });
    const renderBoundMs =
      [...renderByPrompt.values()].reduce((sum, render) => sum + pendingMs + render, 0) / budget;
    const pacingBoundMs = (distinct / submitsPerSecond) * 1000;
    const measuredOccupancyBoundMs =
      sandbox.tasks().reduce((sum, task) => sum + ((task.endTime ?? task.submitTime) - task.submitTime), 0) /
      budget;
    const stats = sandbox.stats();
    return {
      requests: options.requests,
      distinctRequests: distinct,
      answered: outcomes.length,
      succeeded: outcomes.filter((outcome) => outcome.status === "succeeded").length,
      failures: outcomes.flatMap((outcome) =>
        outcome.status === "failed" ? [`${outcome.error.code}: ${outcome.error.message}`] : [],
      ),
      tally,
      peakInFlight: stats.peakInFlight,
      throttled: stats.submitsThrottled,
      submitRetries,
      makespanMs,
      renderBoundMs,
      pacingBoundMs,
      theoreticalMinimumMs: Math.max(renderBoundMs, pacingBoundMs),
      measuredOccupancyBoundMs,
      peakRssBytes: Math.max(peakRssBytes, process.memoryUsage().rss),
      timeScale,
      renderRangeMs,
    };
  } finally {
    clearInterval(sampler);
    await runtime.close();
    await sandbox.close();
    await rm(outputDir, { recursive: true, force: true });
  }
}
