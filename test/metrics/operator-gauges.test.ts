import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { openEmbeddedDatabase } from "../../src/metadata/embedded-database.ts";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type MetadataStore,
  type SqlClient,
} from "../../src/metadata/index.ts";
import { OPERATOR_GAUGES_SQL, readOperatorGauges } from "../../src/metadata/operator-gauges.ts";
import { createStageMetrics, type StageMetrics } from "../../src/metrics/stage-metrics.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { scrape, sumOf } from "./exposition.ts";

/** The gauges read at scrape time, from real rows on PostgreSQL. */

let database: { url: string; drop(): Promise<void> };
let sql: SqlClient;
let store: MetadataStore;
let metrics: StageMetrics;
let reads = 0;

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  sql = createPgSqlClient({ connectionString: database.url, max: 4 });
  store = createPostgresMetadataStore({ sql });
  await store.migrate();
  metrics = createStageMetrics({
    version: "1.2.3",
    model: "wan2.6-i2v-flash",
    budgetLimit: 3,
    currency: "CNY",
    readGauges: () => {
      reads++;
      return readOperatorGauges(sql);
    },
  });
});
afterAll(async () => {
  await store?.close();
  await database?.drop();
});
beforeEach(async () => {
  await sql.query("TRUNCATE generations, provider_slots, provider_slot_waiters");
});

async function generation(runId = "run-1"): Promise<string> {
  const generationId = `gen-${randomUUID()}`;
  await store.upsertGeneration({
    generationId,
    request: { prompt: "p" },
    cacheMode: "use",
    provider: "dashscope",
    model: "wan2.6-i2v-flash",
    correlation: null,
    runId,
  });
  return generationId;
}

const SLOT_OPTIONS = { limit: 3, leaseMs: 60_000, staleWaiterMs: 60_000 };

describe("database gauges", () => {
  it("count generations in flight by status, leaving ended ones out", async () => {
    await generation();
    await generation();
    const submitted = await generation();
    await store.claim({ generationId: submitted, cacheKey: "key-a", imageSha256: "a", warnings: [] });
    await store.recordSubmitted(submitted, { taskId: `task-${randomUUID()}` });
    const copying = await generation();
    await store.recordProgress(copying, { stage: "copy", status: "copying" });
    // An identical request while `submitted` holds key-a waits for it: attached.
    const attached = await generation();
    const claim = await store.claim({
      generationId: attached,
      cacheKey: "key-a",
      imageSha256: "a",
      warnings: [],
    });
    expect(claim.outcome).toBe("attached");
    for (const ending of ["succeeded", "failed", "canceled"] as const) {
      const ended = await generation();
      if (ending === "failed") await store.recordFailed(ended, { code: "x", message: "y" });
      else if (ending === "canceled") await store.recordCanceled(ended, { reason: "r" });
      else await sql.query("UPDATE generations SET status = 'succeeded' WHERE generation_id = $1", [ended]);
    }

    const samples = await scrape(metrics);
    expect(sumOf(samples, "video_generation_active", { status: "pending" })).toBe(2);
    expect(sumOf(samples, "video_generation_active", { status: "submitted" })).toBe(1);
    expect(sumOf(samples, "video_generation_active", { status: "copying" })).toBe(1);
    expect(sumOf(samples, "video_generation_active", { status: "attached" })).toBe(1);
    // Only the four active statuses are exported.
    expect(samples.filter((sample) => sample.name === "video_generation_active")).toHaveLength(4);
    expect(sumOf(samples, "video_generation_database_up")).toBe(1);
  });

  it("export every active status at 0 and an age of 0 when nothing is in flight", async () => {
    const ended = await generation();
    await store.recordFailed(ended, { code: "x", message: "y" });
    const samples = await scrape(metrics);
    for (const status of ["pending", "submitted", "copying", "attached"]) {
      expect(sumOf(samples, "video_generation_active", { status })).toBe(0);
    }
    expect(sumOf(samples, "video_generation_oldest_active_age_seconds")).toBe(0);
    expect(sumOf(samples, "video_generation_budget_slots_in_use")).toBe(0);
    expect(sumOf(samples, "video_generation_budget_waiters")).toBe(0);
  });

  it("tell the age of the oldest active attempt, not of the oldest record", async () => {
    const old = await generation();
    await generation();
    await sql.query(
      "UPDATE generations SET started_at = now() - interval '2 hours' WHERE generation_id = $1",
      [old],
    );
    // An ended generation older still does not count.
    const ancient = await generation();
    await store.recordFailed(ancient, { code: "x", message: "y" });
    await sql.query(
      "UPDATE generations SET started_at = now() - interval '3 days' WHERE generation_id = $1",
      [ancient],
    );
    const age = sumOf(await scrape(metrics), "video_generation_oldest_active_age_seconds");
    expect(age).toBeGreaterThanOrEqual(7200);
    expect(age).toBeLessThan(7200 + 60);

    // A generation that failed days ago and is started afresh by a new run is as old as its new attempt.
    await store.recordFailed(old, { code: "x", message: "y" });
    const restartedLater = await generation();
    await store.recordFailed(restartedLater, { code: "x", message: "y" });
    await sql.query(
      "UPDATE generations SET created_at = now() - interval '3 days', started_at = now() - interval '3 days' WHERE generation_id = $1",
      [restartedLater],
    );
    expect(
      await store.upsertGeneration({
        generationId: restartedLater,
        request: { prompt: "p" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: "run-2",
      }),
    ).toBe("restarted");
    const afterRestart = sumOf(await scrape(metrics), "video_generation_oldest_active_age_seconds");
    expect(afterRestart).toBeLessThan(60);
  });

  it("count budget slots in use (unexpired leases) and the queued waiters", async () => {
    const holders = await Promise.all([1, 2, 3, 4, 5].map(() => generation()));
    const answers = [];
    for (const holder of holders) answers.push(await store.acquireSlot(holder, SLOT_OPTIONS));
    expect(answers.map((answer) => answer.acquired)).toEqual([true, true, true, false, false]);
    // A lease that ran out holds no slot, even before anyone cleans it up.
    await sql.query(
      "INSERT INTO provider_slots (holder, lease_expires_at) VALUES ('expired', now() - interval '1 minute')",
    );

    const samples = await scrape(metrics);
    expect(sumOf(samples, "video_generation_budget_slots_in_use")).toBe(3);
    expect(sumOf(samples, "video_generation_budget_waiters")).toBe(2);
    expect(sumOf(samples, "video_generation_budget_slots_limit")).toBe(3);

    await store.releaseSlot(holders[0]!, { limit: 3, grantLeaseMs: 30_000, staleWaiterMs: 60_000 });
    const handedOver = await scrape(metrics);
    // The freed slot went to the oldest waiter: still 3 in use, one waiter left.
    expect(sumOf(handedOver, "video_generation_budget_slots_in_use")).toBe(3);
    expect(sumOf(handedOver, "video_generation_budget_waiters")).toBe(1);
  });

  it("count submitted tasks that no task watcher watches", async () => {
    const unwatched = async () => sumOf(await scrape(metrics), "video_generation_unwatched_tasks");
    const before = await unwatched();
    const submitted = await generation();
    await store.beginSubmit(submitted);
    await store.recordSubmitted(submitted, {
      taskId: `task-${submitted}`,
      providerRequestId: "request-1",
      resolution: "720P",
      duration: 2,
    });
    expect(await unwatched()).toBe((before ?? 0) + 1);
    // A watcher holding its lease watches every submitted task.
    expect(await store.takeWatcherLease("watcher-run", { leaseMs: 60_000 })).toBe(true);
    expect(await unwatched()).toBe(0);
    // A lease that ran out watches nothing.
    await sql.query("UPDATE task_watcher SET lease_expires_at = now() - interval '1 second'");
    expect(await unwatched()).toBe((before ?? 0) + 1);
    await store.recordFailed(submitted, { code: "x", message: "y" });
    expect(await unwatched()).toBe(before ?? 0);
  });

  it("read the database once per scrape, for all the gauges", async () => {
    const before = reads;
    await metrics.registry.metrics();
    expect(reads - before).toBe(1);
    await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);
    expect(reads - before).toBeLessThanOrEqual(3);
  });

  it("read the generations through an index, never by scanning the history", async () => {
    // With sequential scans priced out, the planner still picks one only if no index can answer the query.
    const plan = await sql.transaction(async (tx) => {
      await tx.query("SET LOCAL enable_seqscan = off");
      const { rows } = await tx.query<{ "QUERY PLAN": string }>(`EXPLAIN ${OPERATOR_GAUGES_SQL}`);
      return rows.map((row) => row["QUERY PLAN"]).join("\n");
    });
    expect(plan).toMatch(/Index (Only )?Scan (on|using) generations_\w+/);
    expect(plan).not.toMatch(/Seq Scan on generations\b/);
    // The index is searched by status (not read whole, as an index on other columns would be).
    expect(plan).toMatch(/Index Cond: \(status = ANY/);
  });

  it("read the same gauges on the embedded database", async () => {
    const directory = await mkdtemp(path.join(tmpdir(), "gauges-embedded-"));
    const embedded = await openEmbeddedDatabase({ dataDir: directory });
    try {
      const local = createPostgresMetadataStore({ sql: embedded.sql });
      await local.migrate();
      await local.upsertGeneration({
        generationId: "embedded-1",
        request: { prompt: "p" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: "run-1",
      });
      await local.acquireSlot("embedded-1", SLOT_OPTIONS);
      const gauges = await readOperatorGauges(embedded.sql);
      expect(gauges).toMatchObject({
        active: { pending: 1, submitted: 0, copying: 0, attached: 0 },
        budgetSlotsInUse: 1,
        budgetWaiters: 0,
      });
      expect(gauges.oldestActiveAgeSeconds).toBeGreaterThanOrEqual(0);
      expect(gauges.oldestActiveAgeSeconds).toBeLessThan(60);
    } finally {
      await embedded.close();
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it("still answer with the counters when the database is down, leaving the database gauges out", async () => {
    const closed = createPgSqlClient({ connectionString: database.url, max: 1 });
    await closed.close();
    const offline = createStageMetrics({
      version: "1.2.3",
      model: "wan2.6-i2v-flash",
      budgetLimit: 3,
      readGauges: () => readOperatorGauges(closed),
    });
    offline.generationStarted("use");
    const samples = await scrape(offline);
    expect(sumOf(samples, "video_generation_database_up")).toBe(0);
    expect(sumOf(samples, "video_generation_started_total", { cache_mode: "use" })).toBe(1);
    expect(sumOf(samples, "video_generation_build_info", { version: "1.2.3" })).toBe(1);
    for (const name of [
      "video_generation_active",
      "video_generation_oldest_active_age_seconds",
      "video_generation_budget_slots_in_use",
      "video_generation_budget_waiters",
      "video_generation_unwatched_tasks",
    ]) {
      expect(sumOf(samples, name), name).toBeUndefined();
    }
  });
});
