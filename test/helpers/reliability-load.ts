import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { composeStage } from "../../src/compose-stage.ts";
import { loadConfig } from "../../src/config.ts";
import { type GenerationOutcome, generateInProcess } from "../../src/runner/generate-in-process.ts";
import { createScaledClock } from "../../src/runner/runner-clock.ts";
import { startSandbox } from "../../src/sandbox/index.ts";
import { renderArguments } from "../../src/sandbox/sandbox-render.ts";
import { renderKey } from "../../src/sandbox/sandbox-render-reuse.ts";
import { type ReliabilityTally, tallyRuns } from "./reliability-checks.ts";
import { createLoadTimeline, type LoadTimeBreakdown } from "./reliability-load-timeline.ts";

/**
 * Clip lengths the requests cycle through. Prompts and seeds differ per request (each is a distinct provider task);
 * with one reference image, two lengths and three camera drifts (seed mod 3), the sandbox renders six distinct clips
 * and reuses them (its render reuse), so its ffmpeg does not compete with the stage for the machine's cores.
 */
const LOAD_DURATIONS = [2, 5] as const;

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
  /** The sandbox's render reuse (`reuseRenders`). Default true. */
  reuseRenders?: boolean;
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
  /** Distinct render inputs among the tasks (the sandbox's render-reuse key): at most this many ffmpeg runs. */
  distinctRenderInputs: number;
  /** Status queries the sandbox answered. */
  statusQueries: number;
  /** Where the makespan went. */
  breakdown: LoadTimeBreakdown;
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
  // Distinct requests differ in prompt and seed; durations cycle through a few values (see LOAD_DURATIONS).
  const specs = Array.from({ length: distinct }, (_, index) => ({
    prompt: `load request ${index}: a harbour at dawn, gulls`,
    duration: LOAD_DURATIONS[index % LOAD_DURATIONS.length]!,
    seed: 1000 + index,
  }));
  const renderByPrompt = new Map(
    specs.map((spec) => [
      spec.prompt,
      renderRangeMs.min + random() * (renderRangeMs.max - renderRangeMs.min),
    ]),
  );
  const drawnRenderMs = (task: { prompt: string | null }) =>
    renderByPrompt.get(task.prompt ?? "") ?? renderRangeMs.max;
  // The first `distinct` requests are all different; the rest repeat randomly chosen ones.
  const requestSpecs = [
    ...specs,
    ...Array.from({ length: options.requests - distinct }, () => specs[Math.floor(random() * distinct)]!),
  ];

  const sandbox = await startSandbox({
    apiKey: "sk-sandbox-load",
    concurrencyLimit: options.concurrencyLimit ?? 5,
    submitsPerSecond,
    // The account's 20 QPS for task queries, in the stage's time: its polls run `timeScale` times faster here.
    taskQueriesPerSecond: 20 * timeScale,
    timings: { pendingMs, renderMs: drawnRenderMs },
    reuseRenders: options.reuseRenders ?? true,
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
  const clock = createScaledClock(timeScale);
  let submitRetries = 0;
  let peakRssBytes = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 100);
  const timeline = createLoadTimeline();
  try {
    const startedAt = Date.now();
    const outcomes: GenerationOutcome[] = await Promise.all(
      requestSpecs.map((spec, index) => {
        const generationId = `load-${index}`;
        const recordStep = timeline.listener(generationId);
        return generateInProcess(
          { ...spec, reference_image: SAMPLE_IMAGE, generation_id: generationId },
          runtime.dependencies,
          {
            clock,
            onStep: (event) => {
              recordStep(event);
              if (event.kind === "step-retrying" && event.id === "submit") submitRetries += 1;
            },
          },
        );
      }),
    );
    const endedAt = Date.now();
    const makespanMs = endedAt - startedAt;
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
    const submittedTask = new Map(
      outcomes.flatMap((outcome) =>
        outcome.status === "succeeded"
          ? [[outcome.response.generation_id, outcome.response.task_id] as const]
          : [],
      ),
    );
    const imageSha256 = createHash("sha256")
      .update(await readFile(SAMPLE_IMAGE))
      .digest("hex");
    const renderInputs = new Set(
      sandbox.tasks().map((task) =>
        renderKey(
          imageSha256,
          {
            inputPath: "",
            outputPath: "",
            width: task.output.width,
            height: task.output.height,
            durationSeconds: task.duration,
            audio: task.audio,
            seed: task.seed,
          },
          renderArguments,
        ),
      ),
    );
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
      distinctRenderInputs: renderInputs.size,
      statusQueries: stats.statusQueries,
      breakdown: timeline.breakdown({
        startedAt,
        endedAt,
        budget,
        configuredPendingMs: pendingMs,
        tasks: sandbox.tasks(),
        // A duplicate answers with its owner's task id but ran no slot step, so it adds no slot hold.
        taskOf: (generationId) => submittedTask.get(generationId),
        drawnRenderMs,
        timeScale,
      }),
    };
  } finally {
    clearInterval(sampler);
    await runtime.close();
    await sandbox.close();
    await rm(outputDir, { recursive: true, force: true });
  }
}
