import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CacheMode } from "../../src/contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import { StorageError } from "../../src/errors/storage-error.ts";
import { loadMigrations, type MetadataStore, migrate, type SqlClient } from "../../src/metadata/index.ts";

/** What a backend gives the shared suite. */
export interface MetadataStoreHarness {
  /** A migrated store. */
  store: MetadataStore;
  /** The store's connection, for cleanup and direct checks. */
  sql: SqlClient;
  /**
   * A store for racing operations: on PostgreSQL one with its own pool of `connections` connections, so each racer
   * runs on a separate connection; on PGlite (one connection per instance) the same store.
   */
  concurrentStore(connections: number): Promise<MetadataStore>;
}

/**
 * The behaviour every MetadataStore backend must show. `harness` is called once, in a `beforeAll`, after which the
 * tables are emptied before each test.
 */
export function describeMetadataStoreContract(harness: () => MetadataStoreHarness): void {
  let store: MetadataStore;
  let sql: SqlClient;

  beforeAll(() => {
    ({ store, sql } = harness());
  });
  beforeEach(async () => {
    await sql.query("TRUNCATE generations, provider_slots, provider_slot_waiters");
  });

  async function newGeneration(
    overrides: { cacheMode?: CacheMode; correlation?: Record<string, unknown> | null } = {},
  ): Promise<string> {
    const generationId = `gen-${randomUUID()}`;
    await store.upsertGeneration({
      generationId,
      request: { prompt: "a lighthouse at dusk", duration: 5 },
      cacheMode: overrides.cacheMode ?? "use",
      provider: "dashscope",
      model: "wan2.6-i2v-flash",
      correlation: overrides.correlation ?? null,
      runId: `run-${generationId}`,
    });
    return generationId;
  }

  describe("migrations", () => {
    it("are recorded once and a second run applies nothing", async () => {
      await store.migrate();
      await store.migrate();
      expect(await migrate(sql)).toEqual([]);
      const { rows } = await sql.query<{ version: string }>(
        "SELECT version FROM schema_migrations ORDER BY version",
      );
      expect(rows.map((row) => row.version)).toEqual(
        (await loadMigrations()).map((migration) => migration.version),
      );
    });
  });

  describe("records", () => {
    it("upserts, reads back every field, and keeps progress on a replayed upsert", async () => {
      const generationId = await newGeneration({ correlation: { shot: "s1", run: 7 } });
      const created = await store.get(generationId);
      expect(created).toMatchObject({
        generationId,
        cacheKey: null,
        cacheMode: "use",
        status: "pending",
        stage: "validate",
        request: { prompt: "a lighthouse at dusk", duration: 5 },
        warnings: [],
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        taskId: null,
        submitState: "none",
        correlation: { shot: "s1", run: 7 },
        runId: `run-${generationId}`,
        completedAt: null,
        result: null,
      });
      expect(created?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      await store.recordProgress(generationId, {
        stage: "rendering",
        status: "submitted",
        providerStatus: "RUNNING",
      });
      await store.upsertGeneration({
        generationId,
        request: { prompt: "replayed" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: "run-replay",
      });
      expect(await store.get(generationId)).toMatchObject({
        status: "submitted",
        stage: "rendering",
        providerStatus: "RUNNING",
        request: { prompt: "replayed" },
        runId: "run-replay",
      });
      expect(await store.get("gen-missing")).toBeNull();
    });

    it("lists newest first with status, since, correlation and limit filters", async () => {
      // A few ms apart, so that `since` (millisecond precision) separates them.
      const first = await newGeneration({ correlation: { pipeline: "p-1", shot: "a" } });
      await sleep(5);
      const second = await newGeneration({ correlation: { pipeline: "p-1", shot: "b" } });
      await sleep(5);
      const third = await newGeneration({ correlation: { pipeline: "p-2" } });
      await store.recordFailed(second, { code: "DataInspectionFailed", message: "rejected" });

      const ids = (records: { generationId: string }[]) => records.map((record) => record.generationId);
      expect(ids(await store.list())).toEqual([third, second, first]);
      expect(ids(await store.list({ status: "failed" }))).toEqual([second]);
      expect(ids(await store.list({ correlation: { key: "pipeline", value: "p-1" } }))).toEqual([
        second,
        first,
      ]);
      expect(ids(await store.list({ correlation: { key: "shot", value: "a" } }))).toEqual([first]);
      expect(await store.list({ correlation: { key: "pipeline", value: "p-3" } })).toEqual([]);
      const since = new Date((await store.get(second))!.createdAt);
      expect(ids(await store.list({ since }))).toEqual([third, second]);
      expect(ids(await store.list({ limit: 1 }))).toEqual([third]);
      expect(ids(await store.list({ limit: 0 }))).toEqual([third]);
    });

    it("totals count outcomes and sum seconds and cost of billable successes per currency", async () => {
      const paid = await newGeneration();
      await store.recordSucceeded(paid, response(paid, { duration: 5, amount: 0.5, currency: "CNY" }));
      const paidUsd = await newGeneration();
      await store.recordSucceeded(paidUsd, response(paidUsd, { duration: 3, amount: 0.25, currency: "USD" }));
      const cacheHit = await newGeneration();
      await store.recordSucceeded(cacheHit, response(cacheHit, { duration: 5, amount: 0.5, cacheHit: true }));
      await store.recordFailed(await newGeneration(), { code: "Timeout", message: "deadline" });
      await store.recordCanceled(await newGeneration(), { reason: "operator" });
      await newGeneration();

      expect(await store.totals()).toEqual({
        count: 6,
        succeeded: 3,
        failed: 1,
        canceled: 1,
        videoSeconds: 8,
        cost: [
          { currency: "CNY", amount: 0.5 },
          { currency: "USD", amount: 0.25 },
        ],
      });
      const future = new Date(Date.now() + 3_600_000);
      expect(await store.totals({ since: future })).toEqual({
        count: 0,
        succeeded: 0,
        failed: 0,
        canceled: 0,
        videoSeconds: 0,
        cost: [],
      });
    });
  });

  describe("cache lookup", () => {
    it("returns the newest cacheable success and ignores bypass, failed and in-flight records", async () => {
      const key = `key-${randomUUID()}`;
      expect(await store.findSucceededByCacheKey(key)).toBeNull();

      const failed = await newGeneration();
      await store.claim({ generationId: failed, cacheKey: key, imageSha256: "img", warnings: [] });
      await store.recordFailed(failed, { code: "InternalError", message: "boom" });
      const bypass = await newGeneration({ cacheMode: "bypass" });
      await store.claim({ generationId: bypass, cacheKey: key, imageSha256: "img", warnings: [] });
      await store.recordSucceeded(bypass, response(bypass));
      const inFlight = await newGeneration();
      await store.claim({ generationId: inFlight, cacheKey: key, imageSha256: "img", warnings: [] });
      expect(await store.findSucceededByCacheKey(key)).toBeNull();

      await store.recordSucceeded(inFlight, response(inFlight));
      const older = await store.findSucceededByCacheKey(key);
      expect(older).toMatchObject({ generationId: inFlight, status: "succeeded", cacheKey: key });
      expect(older?.result?.video_url).toBe(`file:///videos/${inFlight}.mp4`);

      const newer = await newGeneration({ cacheMode: "refresh" });
      await store.claim({ generationId: newer, cacheKey: key, imageSha256: "img", warnings: [] });
      await store.recordSucceeded(newer, response(newer));
      expect((await store.findSucceededByCacheKey(key))?.generationId).toBe(newer);
    });
  });

  describe("claims", () => {
    it("makes one generation the owner and attaches identical ones to it, idempotently", async () => {
      const key = `key-${randomUUID()}`;
      const warnings = [{ field: "fps", requested: 24, applied: 30, reason: "fixed rate" }];
      const owner = await newGeneration();
      const duplicate = await newGeneration();

      expect(await store.claim({ generationId: owner, cacheKey: key, imageSha256: "img", warnings })).toEqual(
        {
          outcome: "claimed",
        },
      );
      expect(await store.get(owner)).toMatchObject({
        status: "pending",
        stage: "claim",
        cacheKey: key,
        imageSha256: "img",
        warnings,
      });
      await store.recordSubmitted(owner, { taskId: `task-${owner}` });

      const attached = {
        outcome: "attached",
        owner: { generationId: owner, taskId: `task-${owner}`, status: "submitted" },
      };
      const claimDuplicate = () =>
        store.claim({ generationId: duplicate, cacheKey: key, imageSha256: "img", warnings: [] });
      expect(await claimDuplicate()).toEqual(attached);
      expect(await claimDuplicate()).toEqual(attached);
      expect(await store.get(duplicate)).toMatchObject({
        status: "attached",
        attachedTo: owner,
        cacheKey: key,
      });
      // The owner repeating its claim keeps its progress.
      expect(await store.claim({ generationId: owner, cacheKey: key, imageSha256: "img", warnings })).toEqual(
        {
          outcome: "claimed",
        },
      );
      expect((await store.get(owner))?.status).toBe("submitted");

      // A bypass generation neither attaches nor blocks.
      const bypass = await newGeneration({ cacheMode: "bypass" });
      expect(
        await store.claim({ generationId: bypass, cacheKey: key, imageSha256: "img", warnings: [] }),
      ).toEqual({
        outcome: "claimed",
      });

      // Once the owner fails, the attached generation takes the key over.
      await store.recordFailed(owner, { code: "InternalError", message: "render failed" });
      expect(await claimDuplicate()).toEqual({ outcome: "claimed" });
      expect(await store.get(duplicate)).toMatchObject({ status: "pending", attachedTo: null });
    });

    it("refuses to claim for a finished or unknown generation", async () => {
      const finished = await newGeneration();
      await store.recordCanceled(finished, { reason: "operator" });
      const claimFinished = store.claim({
        generationId: finished,
        cacheKey: "k",
        imageSha256: "i",
        warnings: [],
      });
      await expect(claimFinished).rejects.toMatchObject({ code: "generation_finished", retryable: false });
      const claimUnknown = store.claim({
        generationId: "gen-unknown",
        cacheKey: "k",
        imageSha256: "i",
        warnings: [],
      });
      await expect(claimUnknown).rejects.toMatchObject({ code: "generation_not_found", retryable: false });
    });

    it("lets exactly one of 50 racing claimants win", async () => {
      const key = `key-${randomUUID()}`;
      const ids = await Promise.all(Array.from({ length: 50 }, () => newGeneration()));
      const racing = await harness().concurrentStore(50);
      const results = await Promise.all(
        ids.map((generationId) =>
          racing.claim({ generationId, cacheKey: key, imageSha256: "img", warnings: [] }),
        ),
      );
      const winners = ids.filter((_, index) => results[index]?.outcome === "claimed");
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.outcome === "attached") expect(result.owner.generationId).toBe(winners[0]);
      }
      const { rows } = await sql.query<{ status: string; count: number }>(
        "SELECT status, count(*)::int AS count FROM generations WHERE cache_key = $1 GROUP BY status ORDER BY status",
        [key],
      );
      expect(rows).toEqual([
        { status: "attached", count: 49 },
        { status: "pending", count: 1 },
      ]);
    });
  });

  describe("provider budget", () => {
    const slot = (limit: number, leaseMs = 60_000) => ({ limit, leaseMs, staleWaiterMs: 60_000 });
    const handOver = (limit: number) => ({ limit, grantLeaseMs: 60_000, staleWaiterMs: 60_000 });

    it("grants exactly `limit` of 30 racing holders and never exceeds it", async () => {
      const racing = await harness().concurrentStore(31);
      let highest = 0;
      let racingDone = false;
      const watcher = (async () => {
        while (!racingDone) {
          highest = Math.max(highest, await racing.countSlots());
          await sleep(1);
        }
      })();
      const holders = Array.from({ length: 30 }, (_, index) => `holder-${index}`);
      const answers = await Promise.all(holders.map((holder) => racing.acquireSlot(holder, slot(5))));
      racingDone = true;
      await watcher;
      const granted = answers.map((answer) => answer.acquired);
      expect(granted.filter(Boolean)).toHaveLength(5);
      expect(highest).toBeLessThanOrEqual(5);
      expect(await store.countSlots()).toBe(5);
      // The 25 others are queued, each with its own place.
      const places = answers.flatMap((answer) => (answer.acquired ? [] : [answer.position]));
      expect(places.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));

      // Re-acquiring renews instead of taking a second slot; a full budget still queues newcomers, behind the others.
      const holding = holders.filter((_, index) => granted[index]);
      expect(await store.acquireSlot(holding[0]!, slot(5))).toEqual({ acquired: true });
      expect(await store.acquireSlot("newcomer", slot(5))).toEqual({
        acquired: false,
        position: 26,
        waiting: 26,
      });
      expect(await store.countSlots()).toBe(5);
    });

    it("hands a freed slot to the oldest waiter, not to whoever asks first", async () => {
      expect(await store.acquireSlot("holder", slot(1))).toEqual({ acquired: true });
      expect(await store.acquireSlot("first-waiter", slot(1))).toMatchObject({
        acquired: false,
        position: 1,
      });
      expect(await store.acquireSlot("second-waiter", slot(1))).toMatchObject({
        acquired: false,
        position: 2,
      });

      expect(await store.releaseSlot("holder", handOver(1))).toEqual({ grantedTo: ["first-waiter"] });
      expect(await store.countSlots()).toBe(1);
      // A newcomer and the second waiter find the slot taken by the hand-over.
      expect(await store.acquireSlot("newcomer", slot(1))).toMatchObject({ acquired: false, position: 2 });
      expect(await store.acquireSlot("second-waiter", slot(1))).toMatchObject({
        acquired: false,
        position: 1,
      });
      // The first waiter takes its slot when it wakes.
      expect(await store.acquireSlot("first-waiter", slot(1))).toEqual({ acquired: true });

      expect(await store.releaseSlot("first-waiter", handOver(1))).toEqual({ grantedTo: ["second-waiter"] });
      expect(await store.releaseSlot("never-held", handOver(1))).toEqual({ grantedTo: [] });
      // A waiter that gives up leaves the queue.
      expect(await store.releaseSlot("newcomer", handOver(1))).toEqual({ grantedTo: [] });
      expect(await store.releaseSlot("second-waiter", handOver(1))).toEqual({ grantedTo: [] });
      expect(await store.countSlots()).toBe(0);
      expect(await store.acquireSlot("late", slot(1))).toEqual({ acquired: true });
    });

    it("lets a waiter that stopped asking lose its place", async () => {
      expect(await store.acquireSlot("holder", slot(1))).toEqual({ acquired: true });
      await store.acquireSlot("gone", { limit: 1, leaseMs: 60_000, staleWaiterMs: 60_000 });
      await store.acquireSlot("alive", { limit: 1, leaseMs: 60_000, staleWaiterMs: 60_000 });
      await sleep(300);
      await store.acquireSlot("alive", { limit: 1, leaseMs: 60_000, staleWaiterMs: 60_000 });
      // "gone" has not asked for 250 ms and more: with that horizon it is dropped, and the slot goes to "alive".
      expect(
        await store.releaseSlot("holder", { limit: 1, grantLeaseMs: 60_000, staleWaiterMs: 250 }),
      ).toEqual({
        grantedTo: ["alive"],
      });
    });

    it("frees an expired lease for another holder and does not renew it", async () => {
      expect(await store.acquireSlot("short", slot(1, 300))).toEqual({ acquired: true });
      expect((await store.acquireSlot("waiting", slot(1))).acquired).toBe(false);
      await store.renewSlot("short", 400);
      await sleep(250);
      // Still held thanks to the renewal.
      expect((await store.acquireSlot("waiting", slot(1))).acquired).toBe(false);
      await sleep(300);
      expect(await store.countSlots()).toBe(0);
      await store.renewSlot("short", 60_000);
      expect(await store.acquireSlot("waiting", slot(1))).toEqual({ acquired: true });
      expect((await store.acquireSlot("short", slot(1))).acquired).toBe(false);
    });

    it("lets a handed-over slot lapse when its waiter never takes it", async () => {
      expect(await store.acquireSlot("holder", slot(1))).toEqual({ acquired: true });
      await store.acquireSlot("waiter", slot(1));
      expect(
        await store.releaseSlot("holder", { limit: 1, grantLeaseMs: 200, staleWaiterMs: 60_000 }),
      ).toEqual({
        grantedTo: ["waiter"],
      });
      expect((await store.acquireSlot("other", slot(1))).acquired).toBe(false);
      await sleep(300);
      expect(await store.acquireSlot("other", slot(1))).toEqual({ acquired: true });
    });
  });

  describe("early endings", () => {
    const ending = (runId: string) => ({
      generationId: "early-1",
      request: { prompt: "" },
      correlation: { shot: "1" },
      runId,
      provider: "dashscope",
      model: "wan2.6-i2v-flash",
      ending: { status: "failed" as const, code: "invalid_input", message: "prompt must contain text" },
    });

    it("creates a terminal record for a run that ended before writing one", async () => {
      expect(await store.recordEarlyEnding(ending("run-a"))).toBe(true);
      expect(await store.get("early-1")).toMatchObject({
        status: "failed",
        errorCode: "invalid_input",
        correlation: { shot: "1" },
        runId: "run-a",
      });
    });

    it("never overwrites a generation in flight or succeeded under the same id", async () => {
      const generationId = await newGeneration();
      expect(await store.recordEarlyEnding({ ...ending("run-b"), generationId })).toBe(false);
      expect(await store.get(generationId)).toMatchObject({ status: "pending", errorCode: null });
      // A record that itself ended without a result in another run is replaced.
      await store.recordFailed(generationId, { code: "task_failed", message: "x" });
      expect(await store.recordEarlyEnding({ ...ending("run-b"), generationId })).toBe(true);
      expect(await store.get(generationId)).toMatchObject({ status: "failed", errorCode: "invalid_input" });
    });
  });

  describe("submission", () => {
    it("tracks submit attempts and records the task once", async () => {
      const generationId = await newGeneration();
      expect(await store.beginSubmit(generationId)).toEqual({
        previousState: "none",
        previousAttemptAt: null,
      });
      const retry = await store.beginSubmit(generationId);
      expect(retry.previousState).toBe("in_flight");
      expect(retry.previousAttemptAt).toMatch(/Z$/);
      await store.recordSubmitRejected(generationId);
      expect((await store.beginSubmit(generationId)).previousState).toBe("rejected");

      await store.recordSubmitted(generationId, {
        taskId: `task-${generationId}`,
        providerRequestId: "req-1",
      });
      await store.recordSubmitted(generationId, { taskId: `task-${generationId}` });
      const record = await store.get(generationId);
      expect(record).toMatchObject({
        status: "submitted",
        taskId: `task-${generationId}`,
        providerRequestId: "req-1",
        submitState: "accepted",
      });
      expect(record?.submittedAt).toMatch(/Z$/);
      // After acceptance the state stays accepted: a later attempt must resume the task.
      expect((await store.beginSubmit(generationId)).previousState).toBe("accepted");
      await store.recordSubmitRejected(generationId);
      expect((await store.get(generationId))?.submitState).toBe("accepted");

      expect(await store.knownTaskIds([`task-${generationId}`, "task-unknown"])).toEqual(
        new Set([`task-${generationId}`]),
      );
      expect(await store.knownTaskIds([])).toEqual(new Set());
    });

    it("refuses a task id another generation already recorded", async () => {
      const first = await newGeneration();
      const second = await newGeneration();
      await store.recordSubmitted(first, { taskId: "task-shared" });
      const duplicate = store.recordSubmitted(second, { taskId: "task-shared" });
      await expect(duplicate).rejects.toBeInstanceOf(StorageError);
      await expect(duplicate).rejects.toMatchObject({ code: "task_already_recorded", retryable: false });
      expect((await store.get(second))?.taskId).toBeNull();
      await expect(store.recordSubmitted(first, { taskId: "task-other" })).rejects.toMatchObject({
        code: "task_already_recorded",
      });
    });
  });

  describe("terminal records", () => {
    it("are idempotent and never reopened", async () => {
      const generationId = await newGeneration();
      await store.recordSubmitted(generationId, { taskId: `task-${generationId}` });
      await store.recordSucceeded(generationId, response(generationId));
      const done = await store.get(generationId);
      expect(done).toMatchObject({
        status: "succeeded",
        stage: "done",
        taskId: `task-${generationId}`,
        result: { generation_id: generationId },
      });
      expect(done?.completedAt).toMatch(/Z$/);

      await sleep(20);
      await store.recordSucceeded(generationId, response(generationId));
      await store.recordProgress(generationId, {
        stage: "rendering",
        status: "submitted",
        providerStatus: "RUNNING",
      });
      await store.recordFailed(generationId, { code: "late", message: "late failure" });
      await store.recordCanceled(generationId, { reason: "late cancel" });
      expect(await store.get(generationId)).toEqual(done);

      const failed = await newGeneration();
      await store.recordFailed(failed, { code: "DataInspectionFailed", message: "input rejected" });
      await store.recordFailed(failed, { code: "DataInspectionFailed", message: "input rejected" });
      expect(await store.get(failed)).toMatchObject({
        status: "failed",
        errorCode: "DataInspectionFailed",
        errorMessage: "input rejected",
      });
      await expect(
        store.recordProgress(failed, { stage: "done", status: "succeeded" }),
      ).rejects.toMatchObject({
        code: "invalid_status_change",
      });
      await expect(store.recordSucceeded("gen-unknown", response("gen-unknown"))).rejects.toMatchObject({
        code: "generation_not_found",
        retryable: false,
      });
    });
  });
}

/** A succeeded response as the function would record it. */
export function response(
  generationId: string,
  options: { duration?: number; amount?: number; currency?: string; cacheHit?: boolean } = {},
): VideoGenerateResponse {
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
    cache_hit: options.cacheHit ?? false,
    warnings: [],
    usage: { duration: options.duration ?? 5, SR: 720 },
    cost_estimate: { currency: options.currency ?? "CNY", amount: options.amount ?? 0.5 },
    timings: { queued_ms: 100, render_ms: 4000, copy_ms: 50, total_ms: 4200 },
  };
}
