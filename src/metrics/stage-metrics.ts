import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CacheMode } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { ACTIVE_STATUSES, type OperatorGauges } from "../metadata/operator-gauges.ts";

/**
 * Every metric the stage exports. These names are public API (dashboards and alert rules use them): docs/metrics.md
 * describes each one, and docs/prometheus/ and docs/grafana/ are checked against this list.
 */
export const STAGE_METRIC_NAMES = {
  started: "video_generation_started_total",
  finished: "video_generation_finished_total",
  providerCalls: "video_generation_provider_calls_total",
  storageOperations: "video_generation_storage_operations_total",
  estimatedCost: "video_generation_estimated_cost_total",
  outputVideoSeconds: "video_generation_output_video_seconds_total",
  duration: "video_generation_duration_seconds",
  providerQueueDuration: "video_generation_provider_queue_duration_seconds",
  renderDuration: "video_generation_render_duration_seconds",
  copyDuration: "video_generation_copy_duration_seconds",
  active: "video_generation_active",
  oldestActiveAge: "video_generation_oldest_active_age_seconds",
  budgetSlotsInUse: "video_generation_budget_slots_in_use",
  budgetSlotsLimit: "video_generation_budget_slots_limit",
  budgetWaiters: "video_generation_budget_waiters",
  unwatchedTasks: "video_generation_unwatched_tasks",
  databaseUp: "video_generation_database_up",
  buildInfo: "video_generation_build_info",
} as const;

/**
 * Buckets (seconds) of the generation, provider-queue and render histograms: a render takes one to five minutes
 * (DashScope's documented examples about one), a queued generation can wait for the budget much longer; the default
 * buckets of prom-client (5 ms to 10 s) would put every render in `+Inf`.
 */
export const LONG_DURATION_BUCKETS = [
  1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800,
] as const;
/** Buckets (seconds) of the copy histogram: streaming a clip of a few MB into storage takes seconds. */
export const COPY_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300] as const;

/** The provider calls counted, named like the provider's operations (`upload` is part of a `submit`). */
export const PROVIDER_OPERATIONS = ["submit", "status", "cancel", "list"] as const;
export type ProviderOperation = (typeof PROVIDER_OPERATIONS)[number];

/**
 * How a provider call ended:
 * - `ok`: answered (a status check that reports a FAILED task is an answered call);
 * - `throttled`: 429 or a throttling code (rate or quota), counted apart because backing off is the remedy;
 * - `client_error`: rejected as sent (4xx: invalid parameter, access, billing);
 * - `auth_error`: the API key was rejected (a configuration problem);
 * - `content_rejected`: moderation refused the input;
 * - `server_error`: the provider answered 5xx or with a server error code;
 * - `network_error`: no answer (refused, reset, timed out);
 * - `invalid_response`: an answer that does not match the documented shape;
 * - `aborted`: the stage gave up on the call itself (cancel, shutdown);
 * - `other`: anything else (a bug).
 */
export const PROVIDER_CALL_OUTCOMES = [
  "ok",
  "throttled",
  "client_error",
  "auth_error",
  "content_rejected",
  "server_error",
  "network_error",
  "invalid_response",
  "aborted",
  "other",
] as const;
export type ProviderCallOutcome = (typeof PROVIDER_CALL_OUTCOMES)[number];

/** The object-store operations counted: the store's asynchronous methods, in snake_case. */
export const STORAGE_OPERATIONS = [
  "copy_from_url",
  "put_video_file",
  "put_bytes",
  "get_bytes",
  "exists",
  "stat",
  "open_read",
  "delete",
  "presign",
] as const;
/** A storage operation: one of {@link STORAGE_OPERATIONS} or another asynchronous method the store gains later. */
export type StorageOperation = string;

/**
 * How an object-store operation ended: `ok`; `not_found` (a read of an object that is not there) and
 * `invalid_range` (a byte range the object cannot serve), both a reader's mistake rather than a storage failure;
 * `aborted` (canceled by the stage); `error` (any other failure: unreachable, refused, a body that is not an MP4...).
 */
export const STORAGE_OUTCOMES = ["ok", "not_found", "invalid_range", "error", "aborted"] as const;
export type StorageOutcome = (typeof STORAGE_OUTCOMES)[number];

export const CACHE_MODES = ["use", "refresh", "bypass"] as const satisfies readonly CacheMode[];

/** How a generation ended; a succeeded one brings its response (timings, cost, measured duration). */
export type GenerationFinish =
  | { status: "succeeded"; response: VideoGenerateResponse }
  | { status: "failed" | "canceled" };

/** Options of {@link createStageMetrics}. */
export interface StageMetricsOptions {
  /** The package's version, for `video_generation_build_info`. */
  version: string;
  /** The model the provider sends, e.g. `wan2.6-i2v-flash`. */
  model: string;
  /** VIDEO_GEN_BUDGET: the account-wide limit of provider tasks in flight, exported as a gauge. */
  budgetLimit: number;
  /** The price table's currency: its cost series exists (at 0) from the start. */
  currency?: string;
  /**
   * Reads the database gauges; called once per scrape (concurrent scrapes share one read). Without it the database
   * gauges are not exported (e.g. a process with no database).
   */
  readGauges?: () => Promise<OperatorGauges>;
}

/**
 * The stage's metrics on a registry of their own (never prom-client's global one, so a host app's metrics and two
 * stages in one process cannot collide). Counters are bumped by the decorators of `src/metrics/instrument-*.ts`;
 * gauges are read from the database at scrape time.
 */
export interface StageMetrics {
  /** The registry: `registry.metrics()` is the exposition text, `registry.contentType` its content type. */
  readonly registry: Registry;
  /** A generation record was created or restarted by a run (counted once per start, in whichever process). */
  generationStarted(cacheMode: CacheMode): void;
  /** A generation record ended (counted once per ending); a success also feeds the duration, cost and output metrics. */
  generationFinished(finish: GenerationFinish): void;
  /** One real call to the provider. */
  providerCall(operation: ProviderOperation, outcome: ProviderCallOutcome): void;
  /** One object-store operation. */
  storageOperation(operation: StorageOperation, outcome: StorageOutcome): void;
}

/** Builds the stage's metrics; see docs/metrics.md for what each means. */
export function createStageMetrics(options: StageMetricsOptions): StageMetrics {
  const registry = new Registry();
  const registers = [registry];
  const names = STAGE_METRIC_NAMES;

  const started = new Counter({
    name: names.started,
    help: "Generations started: records created, or ended ones restarted by a new run (step retries and replays are not counted again).",
    labelNames: ["cache_mode"] as const,
    registers,
  });
  const finished = new Counter({
    name: names.finished,
    help: "Generations ended, by final status and whether the cache (or an identical generation in flight) answered.",
    labelNames: ["status", "cache_hit"] as const,
    registers,
  });
  const providerCalls = new Counter({
    name: names.providerCalls,
    help: "Calls to the video provider's API, by operation and outcome (throttled counted apart).",
    labelNames: ["operation", "outcome"] as const,
    registers,
  });
  const storageOperations = new Counter({
    name: names.storageOperations,
    help: "Object-store operations (S3 or the local directory), by operation and outcome.",
    labelNames: ["operation", "outcome"] as const,
    registers,
  });
  const estimatedCost = new Counter({
    name: names.estimatedCost,
    help: "Estimated cost of the videos rendered (billed seconds times the configured price table), in the currency's units.",
    labelNames: ["currency"] as const,
    registers,
  });
  const outputVideoSeconds = new Counter({
    name: names.outputVideoSeconds,
    help: "Seconds of video rendered and stored (measured from the stored files; cache hits add nothing).",
    registers,
  });
  const duration = new Histogram({
    name: names.duration,
    help: "Time from validation to the stored result of succeeded generations, in seconds.",
    labelNames: ["cache_hit"] as const,
    buckets: [...LONG_DURATION_BUCKETS],
    registers,
  });
  const providerQueueDuration = new Histogram({
    name: names.providerQueueDuration,
    help: "Time a rendered task waited in the provider's queue (submitted to scheduled), in seconds.",
    buckets: [...LONG_DURATION_BUCKETS],
    registers,
  });
  const renderDuration = new Histogram({
    name: names.renderDuration,
    help: "Time the provider spent rendering (scheduled to ended), in seconds.",
    buckets: [...LONG_DURATION_BUCKETS],
    registers,
  });
  const copyDuration = new Histogram({
    name: names.copyDuration,
    help: "Time to copy a rendered video into the object store (conform pass included), in seconds.",
    buckets: [...COPY_DURATION_BUCKETS],
    registers,
  });
  const buildInfo = new Gauge({
    name: names.buildInfo,
    help: "Always 1; the labels tell the stage's version and model.",
    labelNames: ["version", "model"] as const,
    registers,
  });
  buildInfo.set({ version: options.version, model: options.model }, 1);
  const budgetSlotsLimit = new Gauge({
    name: names.budgetSlotsLimit,
    help: "The account-wide limit of provider tasks in flight (VIDEO_GEN_BUDGET) this process applies.",
    registers,
  });
  budgetSlotsLimit.set(options.budgetLimit);

  // Known series exist at 0 from the start: rate() and ratios in alert rules need a first sample before the first event.
  for (const cacheMode of CACHE_MODES) started.inc({ cache_mode: cacheMode }, 0);
  finished.inc({ status: "succeeded", cache_hit: "false" }, 0);
  finished.inc({ status: "succeeded", cache_hit: "true" }, 0);
  finished.inc({ status: "failed", cache_hit: "false" }, 0);
  finished.inc({ status: "canceled", cache_hit: "false" }, 0);
  for (const operation of PROVIDER_OPERATIONS) {
    providerCalls.inc({ operation, outcome: "ok" }, 0);
    providerCalls.inc({ operation, outcome: "throttled" }, 0);
  }
  for (const operation of STORAGE_OPERATIONS) {
    storageOperations.inc({ operation, outcome: "ok" }, 0);
    storageOperations.inc({ operation, outcome: "error" }, 0);
  }
  if (options.currency) estimatedCost.inc({ currency: options.currency }, 0);
  duration.zero({ cache_hit: "false" });
  duration.zero({ cache_hit: "true" });

  if (options.readGauges) registerDatabaseGauges(registry, options.readGauges);

  const seconds = (milliseconds: number | null) => (milliseconds === null ? null : milliseconds / 1000);
  const observe = (histogram: Histogram, value: number | null) => {
    if (value !== null && Number.isFinite(value) && value >= 0) histogram.observe(value);
  };

  return {
    registry,
    generationStarted(cacheMode) {
      started.inc({ cache_mode: cacheMode });
    },
    generationFinished(finish) {
      if (finish.status !== "succeeded") {
        finished.inc({ status: finish.status, cache_hit: "false" });
        return;
      }
      const { response } = finish;
      const cacheHit = response.cache_hit ? "true" : "false";
      finished.inc({ status: "succeeded", cache_hit: cacheHit });
      const total = seconds(response.timings.total_ms);
      if (total !== null && Number.isFinite(total) && total >= 0)
        duration.observe({ cache_hit: cacheHit }, total);
      // A cache hit rendered nothing and cost nothing: its answer repeats another generation's facts.
      if (response.cache_hit) return;
      observe(providerQueueDuration, seconds(response.timings.queued_ms));
      observe(renderDuration, seconds(response.timings.render_ms));
      observe(copyDuration, seconds(response.timings.copy_ms));
      if (response.cost_estimate.amount > 0) {
        estimatedCost.inc({ currency: response.cost_estimate.currency }, response.cost_estimate.amount);
      }
      if (response.duration > 0) outputVideoSeconds.inc(response.duration);
    },
    providerCall(operation, outcome) {
      providerCalls.inc({ operation, outcome });
    },
    storageOperation(operation, outcome) {
      storageOperations.inc({ operation, outcome });
    },
  };
}

/**
 * The gauges read from the shared database at scrape time. Every gauge's `collect` awaits one shared read, so a
 * scrape costs one query. When the read fails the scrape still answers (the counters stay visible): the database
 * gauges are left out and `video_generation_database_up` is 0.
 */
function registerDatabaseGauges(registry: Registry, readGauges: () => Promise<OperatorGauges>): void {
  const registers = [registry];
  const names = STAGE_METRIC_NAMES;
  let pending: Promise<OperatorGauges | null> | undefined;
  // prom-client calls every collect in the same tick, so the first starts the read and the others join it.
  const snapshot = () => {
    pending ??= readGauges()
      .catch(() => null)
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  new Gauge({
    name: names.databaseUp,
    help: "1 when the metadata database answered this scrape's queries, else 0 (the database gauges are then absent).",
    registers,
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  new Gauge({
    name: names.active,
    help: "Generations in flight, by status (pending, submitted, copying, attached); the same on every worker.",
    labelNames: ["status"] as const,
    registers,
    async collect() {
      const gauges = await snapshot();
      this.reset();
      if (!gauges) return;
      for (const status of ACTIVE_STATUSES) this.set({ status }, gauges.active[status]);
    },
  });
  const single = (name: string, help: string, value: (gauges: OperatorGauges) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const gauges = await snapshot();
        // Without a reading the series is left out rather than showing a made-up 0.
        if (gauges) this.set(value(gauges));
        else this.remove({});
      },
    });
  single(
    names.oldestActiveAge,
    "Age of the oldest generation in flight since its current attempt started, in seconds (0 when none is).",
    (gauges) => gauges.oldestActiveAgeSeconds,
  );
  single(
    names.budgetSlotsInUse,
    "Slots of the account-wide provider budget held (unexpired leases), across all workers.",
    (gauges) => gauges.budgetSlotsInUse,
  );
  single(
    names.budgetWaiters,
    "Generations queued for a slot of the provider budget, across all workers.",
    (gauges) => gauges.budgetWaiters,
  );
  single(
    names.unwatchedTasks,
    "Submitted provider tasks while no task watcher holds its lease (0 where the watcher works, or in process).",
    (gauges) => gauges.unwatchedTasks,
  );
}
