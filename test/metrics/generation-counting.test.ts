import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type MetadataStore,
  type SqlClient,
} from "../../src/metadata/index.ts";
import { instrumentMetadataStore } from "../../src/metrics/instrument-metadata-store.ts";
import { createStageMetrics, type StageMetrics } from "../../src/metrics/stage-metrics.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { type Sample, scrape, sumOf } from "./exposition.ts";

/**
 * Generations started and finished are counted from the database's answer, on real PostgreSQL: a repeated
 * transition (a step retry, a replayed run, another worker doing the same) counts nothing, and two workers (two
 * processes' worth of store and metrics, each with its own connection pool) count each transition once in total.
 */

interface Worker {
  sql: SqlClient;
  store: MetadataStore;
  metrics: StageMetrics;
}

let database: { url: string; drop(): Promise<void> };
let workers: [Worker, Worker];

function startWorker(): Worker {
  const sql = createPgSqlClient({ connectionString: database.url, max: 4 });
  const metrics = createStageMetrics({ version: "0.0.0-test", model: "wan2.6-i2v-flash", budgetLimit: 5 });
  return { sql, metrics, store: instrumentMetadataStore(createPostgresMetadataStore({ sql }), metrics) };
}

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  workers = [startWorker(), startWorker()];
  await workers[0].store.migrate();
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.store.close()));
  await database?.drop();
});

/** Each test reads its counters from fresh metrics, over the same database. */
beforeEach(() => {
  workers = workers.map((worker) => {
    const metrics = createStageMetrics({ version: "0.0.0-test", model: "wan2.6-i2v-flash", budgetLimit: 5 });
    return {
      ...worker,
      metrics,
      store: instrumentMetadataStore(createPostgresMetadataStore({ sql: worker.sql }), metrics),
    };
  }) as [Worker, Worker];
});

const scrapeAll = (): Promise<Sample[][]> => Promise.all(workers.map((worker) => scrape(worker.metrics)));

function upsertInput(generationId: string, runId: string, cacheMode: "use" | "refresh" | "bypass" = "use") {
  return {
    generationId,
    request: { prompt: "a lighthouse at dusk", duration: 5, cache: cacheMode },
    cacheMode,
    provider: "dashscope",
    model: "wan2.6-i2v-flash",
    correlation: { film: "f-1" },
    runId,
  };
}

function succeededResponse(
  generationId: string,
  options: { cacheHit?: boolean; amount?: number; duration?: number } = {},
): VideoGenerateResponse {
  const cacheHit = options.cacheHit ?? false;
  return {
    generation_id: generationId,
    video_url: `file:///videos/${generationId}.mp4`,
    storage_uri: `file:///videos/${generationId}.mp4`,
    duration: options.duration ?? 5,
    fps: 30,
    width: 1280,
    height: 720,
    bytes: 1_048_576,
    sha256: "0".repeat(64),
    content_type: "video/mp4",
    has_audio: false,
    seed: 42,
    task_id: `task-${generationId}`,
    model: "wan2.6-i2v-flash",
    cache_hit: cacheHit,
    warnings: [],
    usage: null,
    cost_estimate: { currency: "CNY", amount: cacheHit ? 0 : (options.amount ?? 0.75) },
    timings: cacheHit
      ? { queued_ms: null, render_ms: null, copy_ms: null, total_ms: 350 }
      : { queued_ms: 2_000, render_ms: 95_000, copy_ms: 1_500, total_ms: 101_000 },
  };
}

describe("generation counters on PostgreSQL", () => {
  it("count a start and a success once through a step retry, a replay and another worker's repeat", async () => {
    const [first, second] = workers;
    const id = `gen-${randomUUID()}`;
    // The validate step, retried (same run), then replayed on the other worker (same run id).
    expect(await first.store.upsertGeneration(upsertInput(id, "run-1"))).toBe("created");
    expect(await first.store.upsertGeneration(upsertInput(id, "run-1"))).toBe("refreshed");
    expect(await second.store.upsertGeneration(upsertInput(id, "run-1"))).toBe("refreshed");
    // The persist step, retried after its answer was lost, then run again by the other worker.
    const response = succeededResponse(id, { amount: 0.75, duration: 5 });
    expect(await first.store.recordSucceeded(id, response)).toBe(true);
    expect(await first.store.recordSucceeded(id, response)).toBe(false);
    expect(await second.store.recordSucceeded(id, response)).toBe(false);
    // A rerun of the whole run (a new run id) of a succeeded generation answered from the cache: no new start.
    expect(await second.store.upsertGeneration(upsertInput(id, "run-2"))).toBe("refreshed");
    expect(await second.store.recordSucceeded(id, succeededResponse(id, { cacheHit: true }))).toBe(false);

    const scrapes = await scrapeAll();
    expect(sumOf(scrapes, "video_generation_started_total")).toBe(1);
    expect(sumOf(scrapes, "video_generation_started_total", { cache_mode: "use" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total")).toBe(1);
    expect(
      sumOf(scrapes, "video_generation_finished_total", { status: "succeeded", cache_hit: "false" }),
    ).toBe(1);
    expect(sumOf(scrapes, "video_generation_estimated_cost_total", { currency: "CNY" })).toBeCloseTo(0.75, 9);
    expect(sumOf(scrapes, "video_generation_output_video_seconds_total")).toBe(5);
    expect(sumOf(scrapes, "video_generation_duration_seconds_count", { cache_hit: "false" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_duration_seconds_sum", { cache_hit: "false" })).toBe(101);
    expect(sumOf(scrapes, "video_generation_render_duration_seconds_sum")).toBe(95);
    expect(sumOf(scrapes, "video_generation_render_duration_seconds_bucket", { le: "90" })).toBe(0);
    expect(sumOf(scrapes, "video_generation_render_duration_seconds_bucket", { le: "120" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_provider_queue_duration_seconds_sum")).toBe(2);
    expect(sumOf(scrapes, "video_generation_copy_duration_seconds_sum")).toBe(1.5);
    // The first worker counted it; the other saw the database refuse every repeat.
    expect(sumOf(scrapes[0]!, "video_generation_finished_total")).toBe(1);
    expect(sumOf(scrapes[1]!, "video_generation_finished_total")).toBe(0);
  });

  it("count a restart by a new run as a second start, and each ending once", async () => {
    const [first, second] = workers;
    const id = `gen-${randomUUID()}`;
    await first.store.upsertGeneration(upsertInput(id, "run-1"));
    expect(await first.store.recordFailed(id, { code: "InternalError", message: "boom" })).toBe(true);
    expect(await second.store.recordFailed(id, { code: "InternalError", message: "boom" })).toBe(false);
    // A new run of the failed generation starts it afresh; its retried validate does not.
    expect(await second.store.upsertGeneration(upsertInput(id, "run-2", "refresh"))).toBe("restarted");
    expect(await second.store.upsertGeneration(upsertInput(id, "run-2", "refresh"))).toBe("refreshed");
    expect(await first.store.recordCanceled(id, { reason: "operator" })).toBe(true);
    expect(await second.store.recordCanceled(id, { reason: "operator" })).toBe(false);

    const scrapes = await scrapeAll();
    expect(sumOf(scrapes, "video_generation_started_total", { cache_mode: "use" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_started_total", { cache_mode: "refresh" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "failed" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "canceled" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "succeeded" })).toBe(0);
    // A failure and a cancel cost nothing here and feed no duration.
    expect(sumOf(scrapes, "video_generation_estimated_cost_total")).toBeUndefined();
    expect(sumOf(scrapes, "video_generation_duration_seconds_count")).toBe(0);
  });

  it("count an early ending (refused by validation, canceled while queued) as one start and one ending", async () => {
    const [first, second] = workers;
    const id = `gen-${randomUUID()}`;
    const early = {
      generationId: id,
      request: { prompt: "x", duration: 1, cache: "bypass" },
      correlation: null,
      runId: "run-1",
      provider: "dashscope",
      model: "wan2.6-i2v-flash",
      ending: { status: "failed" as const, code: "invalid_input", message: "duration must be 2-15" },
    };
    expect(await first.store.recordEarlyEnding(early)).toBe(true);
    expect(await first.store.recordEarlyEnding(early)).toBe(false);
    expect(await second.store.recordEarlyEnding(early)).toBe(false);
    const queued = `gen-${randomUUID()}`;
    const canceled = {
      ...early,
      generationId: queued,
      request: { prompt: "y", cache: 42 },
      ending: { status: "canceled" as const, code: "canceled", message: "canceled while queued" },
    };
    expect(await second.store.recordEarlyEnding(canceled)).toBe(true);

    const scrapes = await scrapeAll();
    // The request's own cache mode when it is one; `use` (the default) for anything else.
    expect(sumOf(scrapes, "video_generation_started_total", { cache_mode: "bypass" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_started_total", { cache_mode: "use" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "failed" })).toBe(1);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "canceled" })).toBe(1);
  });

  it("count a cache hit as finished with cache_hit=true, adding no cost and no output seconds", async () => {
    const [first] = workers;
    const id = `gen-${randomUUID()}`;
    await first.store.upsertGeneration(upsertInput(id, "run-1"));
    await first.store.recordSucceeded(id, succeededResponse(id, { cacheHit: true }));

    const samples = await scrape(first.metrics);
    expect(
      sumOf(samples, "video_generation_finished_total", { status: "succeeded", cache_hit: "true" }),
    ).toBe(1);
    expect(sumOf(samples, "video_generation_finished_total", { cache_hit: "false" })).toBe(0);
    expect(sumOf(samples, "video_generation_estimated_cost_total")).toBeUndefined();
    expect(sumOf(samples, "video_generation_output_video_seconds_total")).toBe(0);
    expect(sumOf(samples, "video_generation_duration_seconds_count", { cache_hit: "true" })).toBe(1);
    expect(sumOf(samples, "video_generation_duration_seconds_bucket", { cache_hit: "true", le: "1" })).toBe(
      1,
    );
    expect(sumOf(samples, "video_generation_render_duration_seconds_count")).toBe(0);
  });

  it("count every transition once in total when two workers race on the same generations", async () => {
    const count = 24;
    const ids = Array.from({ length: count }, () => `gen-${randomUUID()}`);
    // Both workers run every step of every generation at the same moment, as after a duplicate delivery.
    const both = <T>(step: (worker: Worker, id: string) => Promise<T>) =>
      Promise.all(ids.flatMap((id) => workers.map((worker) => step(worker, id))));

    const upserts = await both((worker, id) => worker.store.upsertGeneration(upsertInput(id, "run-1")));
    expect(upserts.filter((outcome) => outcome === "created")).toHaveLength(count);
    const endings = await both((worker, id) => {
      const kind = ids.indexOf(id) % 3;
      if (kind === 0) return worker.store.recordSucceeded(id, succeededResponse(id, { amount: 0.5 }));
      if (kind === 1) return worker.store.recordFailed(id, { code: "InternalError", message: "boom" });
      return worker.store.recordCanceled(id, { reason: "operator" });
    });
    expect(endings.filter(Boolean)).toHaveLength(count);
    // Then new runs restart the failed and canceled ones, again on both workers at once.
    const restartable = ids.filter((id) => ids.indexOf(id) % 3 !== 0);
    const restarts = await Promise.all(
      restartable.flatMap((id) =>
        workers.map((worker) => worker.store.upsertGeneration(upsertInput(id, "run-2"))),
      ),
    );
    expect(restarts.filter((outcome) => outcome === "restarted")).toHaveLength(restartable.length);

    const scrapes = await scrapeAll();
    expect(sumOf(scrapes, "video_generation_started_total")).toBe(count + restartable.length);
    expect(sumOf(scrapes, "video_generation_finished_total")).toBe(count);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "succeeded" })).toBe(count / 3);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "failed" })).toBe(count / 3);
    expect(sumOf(scrapes, "video_generation_finished_total", { status: "canceled" })).toBe(count / 3);
    expect(sumOf(scrapes, "video_generation_estimated_cost_total")).toBeCloseTo(0.5 * (count / 3), 9);
    expect(sumOf(scrapes, "video_generation_duration_seconds_count")).toBe(count / 3);
  });
});
