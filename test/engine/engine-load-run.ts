import {
  type EventBridgeEmulatorHandle,
  type EventBridgeEmulatorStats,
  startEventBridgeEmulator,
} from "../../src/sandbox/eventbridge-emulator.ts";
import type { SandboxOptions, SandboxStats, SandboxTaskSummary } from "../../src/sandbox/index.ts";
import {
  DOCUMENTED_RENDER_SECONDS,
  drawRenderSeconds,
  mulberry32,
} from "../helpers/simulated-render-time.ts";
import { startDevEngine } from "./dev-engine.ts";
import type { InngestApi } from "./inngest-api.ts";
import {
  fetchRunTrace,
  fetchStepOutput,
  type ListedRunV2,
  listEventsSince,
  listRunsSince,
  type ReceivedEvent,
  type RunTrace,
} from "./inngest-run-trace.ts";
import { SAMPLE_IMAGE } from "./requests.ts";
import { startSelfHostedEngine } from "./self-hosted-engine.ts";
import type { StageEnvironment } from "./stage-environment.ts";
import { waitUntil } from "./wait-until.ts";

/** The documented render time of wan2.6-i2v-flash and its shape (dashscope.md §5; bench/poll-schedule-benchmark.ts). */
export const DOCUMENTED_RENDER = { ...DOCUMENTED_RENDER_SECONDS, pendingS: 2.5 } as const;

/** Clip lengths the distinct requests cycle through (two duration buckets, both learned by the stage). */
const DURATIONS = [2, 5] as const;

const ENDED: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED", "SKIPPED"]);

/** The stage's function as the server names it. */
const VIDEO_GENERATE_SLUG = "video-agent-video-generate";

export interface EngineLoadOptions {
  /** Requests sent in one batch. */
  requests: number;
  /** Share of them that repeat another request exactly (another generation id). */
  duplicateShare: number;
  /** Documented render and PENDING times are divided by this. */
  timeScale: number;
  /** VIDEO_GEN_BUDGET, and the sandbox's concurrency limit. */
  budget: number;
  /** Seed of the render-time draw and of the order of the batch. */
  seed: number;
  inngestBinary: string;
  /** Admin URL of a PostgreSQL server (a database is created on it for the run). */
  postgresUrl: string;
  /** Progress lines. */
  log: (line: string) => void;
  /**
   * DashScope's completion push through the sandbox's EventBridge emulator, delivered this long after each task ends;
   * absent: no push (the task watcher's checks find every ending).
   */
  pushDelayMs?: number;
  /** VIDEO_GEN_WATCH_INTERVAL_MS of the workers; absent: the stage's default. */
  watchIntervalMs?: number;
  /**
   * The production shape: `inngest start` on Redis and PostgreSQL with {@link PRODUCTION_WORKERS} workers in cloud
   * mode (signing key, event key) behind a round-robin load balancer; otherwise `inngest dev` with one worker.
   */
  production?: boolean;
}

/** Workers of the production shape. */
export const PRODUCTION_WORKERS = 2;

/** What the load needs of a server with its workers, in either shape. */
interface LoadEngine {
  /** The server's URL (GraphQL, as the dashboard reads runs, traces and events). */
  url: string;
  api: InngestApi;
  stage: StageEnvironment;
  /** Starts the workers (`overrides` on top of their environment) and syncs them; the origin the server calls. */
  startWorkers(overrides: Record<string, string>): Promise<string>;
  /** Requests forwarded to each worker (production shape: counted by the load balancer). */
  forwarded(): number[] | undefined;
  /** The workers' and the server's last output lines, for a failure. */
  logTails(): string;
  close(): Promise<void>;
}

interface EngineSetup {
  sandbox: SandboxOptions;
  workerEnvironment: Record<string, string>;
  inngestBinary: string;
  postgresUrl: string;
}

async function startLoadEngine(production: boolean, setup: EngineSetup): Promise<LoadEngine> {
  const workerTail = (stderr: string) => stderr.split("\n").slice(-40).join("\n");
  if (production) {
    const engine = await startSelfHostedEngine(setup);
    return {
      url: engine.server.url,
      api: engine.api,
      stage: engine.stage,
      async startWorkers(overrides) {
        return (await engine.startWorkers(PRODUCTION_WORKERS, overrides)).url;
      },
      forwarded: () => engine.proxy()?.forwarded(),
      logTails: () =>
        [
          ...engine.workers.map(
            (worker, index) =>
              `worker ${index + 1} stderr (last lines):\n${workerTail(worker.cli().output().stderr)}`,
          ),
          `server:\n${engine.server.process().logTail()}`,
        ].join("\n"),
      close: engine.close,
    };
  }
  const engine = await startDevEngine({ ...setup, workers: 0 });
  return {
    url: engine.server.url,
    api: engine.api,
    stage: engine.stage,
    async startWorkers(overrides) {
      return new URL((await engine.addWorker(overrides)).endpoint).origin;
    },
    forwarded: () => undefined,
    logTails: () =>
      [
        ...engine.workers.map(
          (worker) => `worker stderr (last lines):\n${workerTail(worker.cli().output().stderr)}`,
        ),
        `server:\n${engine.server.process.logTail()}`,
      ].join("\n"),
    close: engine.close,
  };
}

/** The push route's secret in the benchmark (any 16+ characters). */
const PUSH_SECRET = "engine-load-push-secret-0123";

/** The task watcher as the server names it. */
const WATCHER_SLUG = "video-agent-video-generate-watcher";

/** One distinct request: what makes it distinct, and the provider time drawn for it (ms). */
export interface DistinctRequest {
  prompt: string;
  duration: number;
  seed: number;
  pendingMs: number;
  renderMs: number;
}

/** One request of the batch, in the order sent. */
export interface SentRequest {
  index: number;
  generationId: string;
  /** Index into `distinct`. */
  distinctIndex: number;
  eventId: string;
}

/** A run of `video-generate` with its trace and the step outputs the analysis reads. */
export interface ObservedRun {
  run: ListedRunV2;
  trace: RunTrace;
  /** The request that triggered it. */
  request: SentRequest;
  /** Output of `submit` (owners only). */
  submitted?: { taskId: string; renderEstimate?: { expectedMs: number; source: string; samples: number } };
  /** Output of the last `poll-<n>` (owners only): the slot hand-over it made. */
  lastPoll?: { status: string; grantedTo?: string[] };
}

/** Everything one run of the benchmark observed, raw. Times are epoch ms of this machine's clock. */
export interface EngineLoadObservations {
  options: Omit<EngineLoadOptions, "inngestBinary" | "postgresUrl" | "log">;
  /** The server command (`inngest dev` or `inngest start`) and the number of `video-gen serve` workers. */
  server: "inngest dev" | "inngest start";
  workers: number;
  /** Production shape: requests the load balancer forwarded to each worker (the server's calls, the sync, pushes). */
  forwarded?: number[];
  /** VIDEO_GEN_RENDER_ESTIMATE_S given to the worker. */
  renderEstimateSeconds: number;
  pendingMs: number;
  distinct: DistinctRequest[];
  requests: SentRequest[];
  /** Just before `POST /e/<key>`. */
  sentAt: number;
  tasks: SandboxTaskSummary[];
  sandboxStats: SandboxStats;
  /** Every run the batch caused, all functions. */
  allRuns: ListedRunV2[];
  runs: ObservedRun[];
  /** `completed` and `failed` events. */
  endings: ReceivedEvent[];
  slotGrants: ReceivedEvent[];
  /** Record status per generation id (null: no record). */
  recordStatuses: Record<string, string | null>;
  slotsLeft: number;
  /** The task watcher's runs and their steps (from the server's traces). */
  watcherRuns: Array<{ run: ListedRunV2; steps: number }>;
  /** The emulator's counters, when the push was on. */
  pushStats?: EventBridgeEmulatorStats;
}

/** A render time from the documented shape, divided by `timeScale` (ms). */
function drawRenderMs(random: () => number, timeScale: number): number {
  return Math.round((drawRenderSeconds(random) * 1000) / timeScale);
}

/** Runs `work` over `items`, `parallel` at a time, keeping the order. */
async function mapLimited<T, R>(items: T[], parallel: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

/**
 * Fans `requests` generations out on `inngest dev` with one `POST /e/<key>` batch, as an orchestrator sends them,
 * to one `video-gen serve` worker against the sandbox with the documented limits (`production`: on `inngest start`
 * with Redis and PostgreSQL, to two workers in cloud mode behind a load balancer); waits for an ending event of
 * every request; then reads back everything the analysis needs from the server (runs, traces, events, step
 * outputs), the sandbox (tasks and counters) and the metadata store.
 */
export async function runEngineLoad(options: EngineLoadOptions): Promise<EngineLoadObservations> {
  const { timeScale, budget, log } = options;
  const random = mulberry32(options.seed);
  const distinctCount = Math.max(1, Math.round(options.requests * (1 - options.duplicateShare)));
  const pendingMs = Math.round((DOCUMENTED_RENDER.pendingS * 1000) / timeScale);
  const renderEstimateSeconds = DOCUMENTED_RENDER.medianS / timeScale;
  const distinct: DistinctRequest[] = Array.from({ length: distinctCount }, (_, index) => ({
    prompt: `engine load request ${index}: a harbour at dawn, gulls`,
    duration: DURATIONS[index % DURATIONS.length]!,
    seed: 1000 + index,
    pendingMs,
    renderMs: drawRenderMs(random, timeScale),
  }));
  // Every distinct request once, the rest repeating randomly chosen ones; shuffled, so a repeat may come first.
  const order = [
    ...distinct.map((_, index) => index),
    ...Array.from({ length: options.requests - distinctCount }, () => Math.floor(random() * distinctCount)),
  ];
  for (let index = order.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  const renderByPrompt = new Map(distinct.map((request) => [request.prompt, request.renderMs]));

  let pushUrl = "";
  const production = options.production ?? false;
  const engine = await startLoadEngine(production, {
    inngestBinary: options.inngestBinary,
    postgresUrl: options.postgresUrl,
    sandbox: {
      concurrencyLimit: budget,
      submitsPerSecond: 5,
      taskQueriesPerSecond: 20,
      timings: { pendingMs, renderMs: (task) => renderByPrompt.get(task.prompt ?? "") ?? pendingMs },
    },
    workerEnvironment: {
      VIDEO_GEN_BUDGET: String(budget),
      VIDEO_GEN_RENDER_ESTIMATE_S: String(renderEstimateSeconds),
      ...(options.watchIntervalMs === undefined
        ? {}
        : { VIDEO_GEN_WATCH_INTERVAL_MS: String(options.watchIntervalMs) }),
    },
  });
  let emulator: EventBridgeEmulatorHandle | undefined;
  try {
    emulator =
      options.pushDelayMs === undefined
        ? undefined
        : await startEventBridgeEmulator({
            tasks: () => engine.stage.sandbox.tasks(),
            targetUrl: () => pushUrl,
            delayMs: options.pushDelayMs,
          });
    // The push goes where the server's calls go: the one worker, or the load balancer in front of the workers.
    const origin = await engine.startWorkers(
      emulator
        ? {
            DASHSCOPE_PUSH_SECRET: PUSH_SECRET,
            DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN: emulator.certificateOrigin,
          }
        : {},
    );
    pushUrl = `${origin}/hooks/dashscope/${PUSH_SECRET}`;
    log(
      production
        ? `inngest start (Redis, PostgreSQL) at ${engine.url}; ${PRODUCTION_WORKERS} workers in cloud mode behind ${origin}`
        : `inngest dev at ${engine.url}; one worker at ${origin}`,
    );
    const { url } = engine;
    const events = order.map((distinctIndex, index) => {
      const request = distinct[distinctIndex]!;
      return {
        name: "video/generation.requested",
        data: {
          prompt: request.prompt,
          reference_image: SAMPLE_IMAGE,
          duration: request.duration,
          seed: request.seed,
          generation_id: `load-${index}`,
          correlation: { benchmark: "engine-load", request: index },
        },
      };
    });
    const from = new Date(Date.now() - 2_000);
    log(`sending ${events.length} events (${distinctCount} distinct) in one batch`);
    const sentAt = Date.now();
    const eventIds = await engine.api.sendEvents(events);
    const requests: SentRequest[] = order.map((distinctIndex, index) => ({
      index,
      generationId: `load-${index}`,
      distinctIndex,
      eventId: eventIds[index]!,
    }));

    const expectedMs =
      distinct.reduce((sum, request) => sum + request.pendingMs + request.renderMs, 0) / budget;
    const ended = new Set<string>();
    await waitUntil(
      `an ending event of each of the ${requests.length} requests`,
      async () => {
        const endings = await listEventsSince(
          url,
          ["video/generation.completed", "video/generation.failed"],
          from,
        );
        for (const ending of endings) ended.add(String(ending.data.generation_id));
        log(`${ended.size} / ${requests.length} ended after ${((Date.now() - sentAt) / 1000).toFixed(0)} s`);
        return ended.size >= requests.length ? true : undefined;
      },
      { timeoutMs: 4 * expectedMs + 300_000, intervalMs: 5_000 },
    );
    // Every run the batch caused has ended, twice in a row a second apart (an event sent by a run's last step starts
    // its runs a moment later).
    let quietSince: number | undefined;
    const allRuns = await waitUntil(
      "every run to end",
      async () => {
        const listed = await listRunsSince(url, from);
        if (listed.some((run) => !ENDED.has(run.status))) quietSince = undefined;
        else quietSince ??= Date.now();
        return quietSince !== undefined && Date.now() - quietSince >= 1_000 ? listed : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    );

    log(`reading ${allRuns.length} runs, their traces and step outputs back from the server`);
    const requestByEvent = new Map(requests.map((request) => [request.eventId, request]));
    const generateRuns = allRuns.filter((run) => run.functionSlug === VIDEO_GENERATE_SLUG);
    const runs = await mapLimited(generateRuns, 4, async (run): Promise<ObservedRun> => {
      const request = requestByEvent.get(run.triggerIds[0] ?? "");
      if (!request) throw new Error(`run ${run.id} was not triggered by the batch`);
      const trace = await fetchRunTrace(url, run.id);
      const observed: ObservedRun = { run, trace, request };
      const submit = trace.steps.find((step) => step.name === "submit");
      if (submit?.outputId) {
        observed.submitted = (await fetchStepOutput(url, submit.outputId)) as ObservedRun["submitted"];
      }
      const lastPoll = trace.steps.filter((step) => /^poll-\d+$/.test(step.name)).at(-1);
      if (lastPoll?.outputId) {
        observed.lastPoll = (await fetchStepOutput(url, lastPoll.outputId)) as ObservedRun["lastPoll"];
      }
      return observed;
    });
    const endings = await listEventsSince(
      url,
      ["video/generation.completed", "video/generation.failed"],
      from,
    );
    const slotGrants = await listEventsSince(url, ["video/generation.slot-granted"], from);
    const watcherRuns = await mapLimited(
      allRuns.filter((run) => run.functionSlug === WATCHER_SLUG),
      4,
      async (run) => ({ run, steps: (await fetchRunTrace(url, run.id)).steps.length }),
    );
    const recordStatuses: Record<string, string | null> = {};
    for (const request of requests) {
      recordStatuses[request.generationId] =
        (await engine.stage.metadataStore.get(request.generationId))?.status ?? null;
    }
    return {
      options: {
        requests: options.requests,
        duplicateShare: options.duplicateShare,
        timeScale,
        budget,
        seed: options.seed,
        ...(options.pushDelayMs === undefined ? {} : { pushDelayMs: options.pushDelayMs }),
        ...(options.watchIntervalMs === undefined ? {} : { watchIntervalMs: options.watchIntervalMs }),
        ...(production ? { production } : {}),
      },
      server: production ? "inngest start" : "inngest dev",
      workers: production ? PRODUCTION_WORKERS : 1,
      ...(production ? { forwarded: engine.forwarded() } : {}),
      renderEstimateSeconds,
      pendingMs,
      distinct,
      requests,
      sentAt,
      tasks: [...engine.stage.sandbox.tasks()],
      sandboxStats: engine.stage.sandbox.stats(),
      allRuns,
      runs,
      endings,
      slotGrants,
      recordStatuses,
      slotsLeft: await engine.stage.metadataStore.countSlots(),
      watcherRuns,
      ...(emulator ? { pushStats: emulator.stats() } : {}),
    };
  } catch (error) {
    log(engine.logTails());
    throw error;
  } finally {
    await emulator?.close();
    await engine.close();
  }
}
