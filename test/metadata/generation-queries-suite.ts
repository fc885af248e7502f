import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import { InputError } from "../../src/errors/input-error.ts";
import {
  type CorrelationGroup,
  createGenerationQueries,
  type GenerationQueries,
} from "../../src/metadata/generation-queries.ts";
import type { GenerationQuery } from "../../src/metadata/generation-query.ts";
import type { GenerationStatus } from "../../src/metadata/generation-record.ts";
import { createPostgresMetadataStore, type SqlClient } from "../../src/metadata/index.ts";
import { response } from "./metadata-store-suite.ts";

/** One fixture row, written straight into the table so that times (and their ties) are exactly as chosen. */
export interface FixtureGeneration {
  id: string;
  status: GenerationStatus;
  /** ISO time with up to microseconds. */
  createdAt: string;
  prompt: string;
  correlation?: Record<string, unknown> | null;
  requestSeed?: unknown;
  /** For succeeded rows: the response's facts. */
  resultSeed?: number;
  videoSeconds?: number;
  cost?: { amount: number; currency: string };
  cacheHit?: boolean;
}

/** Inserts fixtures as the store would have left them (a result and its promoted columns for succeeded ones). */
export async function insertGenerations(sql: SqlClient, rows: FixtureGeneration[]): Promise<void> {
  for (const row of rows) {
    const request: Record<string, unknown> = { prompt: row.prompt, reference_image: "s3://bucket/ref.jpg" };
    if (row.requestSeed !== undefined) request.seed = row.requestSeed;
    const succeeded = row.status === "succeeded";
    const result: VideoGenerateResponse | null = succeeded
      ? {
          ...response(row.id, {
            duration: row.videoSeconds ?? 5,
            amount: row.cost?.amount ?? 0.5,
            currency: row.cost?.currency ?? "CNY",
            cacheHit: row.cacheHit ?? false,
          }),
          seed: row.resultSeed ?? 42,
        }
      : null;
    await sql.query(
      `INSERT INTO generations (generation_id, cache_mode, status, stage, request, provider, model, correlation,
         created_at, updated_at, result, video_seconds, cost_amount, cost_currency, cache_hit)
       VALUES ($1, 'use', $2, $3, $4::text::jsonb, 'dashscope', 'wan2.6-i2v-flash', $5::text::jsonb,
         $6::timestamptz, $6::timestamptz, $7::text::jsonb, $8, $9, $10, $11)`,
      [
        row.id,
        row.status,
        succeeded ? "done" : "rendering",
        JSON.stringify(request),
        row.correlation ? JSON.stringify(row.correlation) : null,
        row.createdAt,
        result ? JSON.stringify(result) : null,
        result?.duration ?? null,
        result?.cost_estimate.amount ?? null,
        result?.cost_estimate.currency ?? null,
        result?.cache_hit ?? null,
      ],
    );
  }
}

/**
 * Twenty generations: every status, two currencies, cache hits, correlation values as strings and numbers, ties in
 * created_at, prompts with markup and SQL metacharacters.
 */
export const FIXTURES: FixtureGeneration[] = [
  {
    id: "g01",
    status: "succeeded",
    createdAt: "2026-12-01T10:00:00.000001Z",
    prompt: "A red fox runs through a snowy forest at dawn",
    correlation: { run: "r1", shot: 1 },
    resultSeed: 101,
    requestSeed: 101,
    videoSeconds: 5,
    cost: { amount: 0.5, currency: "CNY" },
  },
  {
    id: "g02",
    status: "succeeded",
    createdAt: "2026-12-01T10:00:00.000002Z",
    prompt: "A red fox sleeps in a snowy forest",
    correlation: { run: "r1", shot: 2 },
    requestSeed: 202,
    resultSeed: 102,
    videoSeconds: 10,
    cost: { amount: 1, currency: "CNY" },
  },
  {
    id: "g03",
    status: "failed",
    createdAt: "2026-12-01T11:00:00Z",
    prompt: "Sunset over a sail-boat, cinematic",
    correlation: { run: "r1", shot: 3 },
    requestSeed: 103,
  },
  {
    id: "g04",
    status: "succeeded",
    createdAt: "2026-12-01T11:00:00Z",
    prompt: "Sunset over the harbour, slow pan",
    correlation: { run: "r2", shot: 1 },
    resultSeed: 7,
    videoSeconds: 5,
    cost: { amount: 0.07, currency: "USD" },
  },
  {
    id: "g05",
    status: "succeeded",
    createdAt: "2026-12-01T11:00:00Z",
    prompt: "Sunset over the harbour, slow pan",
    correlation: { run: "r2", shot: 1 },
    resultSeed: 7,
    videoSeconds: 5,
    cost: { amount: 0.07, currency: "USD" },
    cacheHit: true,
  },
  {
    id: "g06",
    status: "canceled",
    createdAt: "2026-12-02T09:30:00Z",
    prompt: "City street at night, neon reflections",
    correlation: { run: "r2", shot: 2 },
    requestSeed: 2147483647,
  },
  {
    id: "g07",
    status: "pending",
    createdAt: "2026-12-03T08:00:00Z",
    prompt: "<script>alert('x')</script> a cat on a piano",
    correlation: { project: "demo" },
  },
  {
    id: "g08",
    status: "submitted",
    createdAt: "2026-12-03T08:00:00Z",
    prompt: "'; DROP TABLE generations; -- 100% of the _waves_ \\ crash",
    correlation: null,
    requestSeed: 5,
  },
  {
    id: "g09",
    status: "copying",
    createdAt: "2026-12-03T08:00:00Z",
    prompt: "Waves crash on black rocks",
    correlation: { run: "r3" },
    requestSeed: 5,
  },
  {
    id: "g10",
    status: "attached",
    createdAt: "2026-12-03T08:00:00Z",
    prompt: "Waves crash on black rocks",
    correlation: { run: "r3", note: null },
    requestSeed: "not a number",
  },
  {
    id: "g11",
    status: "succeeded",
    createdAt: "2026-12-04T12:00:00Z",
    prompt: "Timelapse of clouds over mountains",
    correlation: { run: 3 },
    resultSeed: 5,
    videoSeconds: 15,
    cost: { amount: 1.5, currency: "CNY" },
  },
  {
    id: "g12",
    status: "failed",
    createdAt: "2026-12-04T12:00:00Z",
    prompt: "Timelapse of clouds",
    correlation: { run: "3" },
  },
];

/** The fixtures ordered as a page must return them: created_at DESC, generation_id DESC. */
export function newestFirst(rows: FixtureGeneration[]): string[] {
  return [...rows]
    .sort((left, right) =>
      left.createdAt === right.createdAt
        ? right.id.localeCompare(left.id)
        : right.createdAt.localeCompare(left.createdAt),
    )
    .map((row) => row.id);
}

/** All ids a query selects, walking every page. */
async function allIds(queries: GenerationQueries, query: GenerationQuery, limit = 5): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await queries.page(query, { cursor, limit });
    ids.push(...page.records.map((record) => record.generationId));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not end");
}

/** The behaviour of the gallery queries on a backend; tables are emptied and the fixtures inserted before each test. */
export function describeGenerationQueries(harness: () => { sql: SqlClient }): void {
  let sql: SqlClient;
  let queries: GenerationQueries;

  beforeAll(() => {
    ({ sql } = harness());
    queries = createGenerationQueries({ sql });
  });
  beforeEach(async () => {
    await sql.query("TRUNCATE generations, provider_slots, provider_slot_waiters");
    await insertGenerations(sql, FIXTURES);
  });

  const select = (predicate: (row: FixtureGeneration) => boolean) => newestFirst(FIXTURES.filter(predicate));

  describe("page", () => {
    it("returns every record newest first, ties broken by the higher id, as full records", async () => {
      const page = await queries.page({});
      expect(page.records.map((record) => record.generationId)).toEqual(newestFirst(FIXTURES));
      expect(page.nextCursor).toBeNull();
      const fox = page.records.find((record) => record.generationId === "g01");
      expect(fox).toMatchObject({
        status: "succeeded",
        createdAt: "2026-12-01T10:00:00.000Z",
        correlation: { run: "r1", shot: 1 },
        request: { prompt: "A red fox runs through a snowy forest at dawn", seed: 101 },
        result: { seed: 101, duration: 5 },
      });
    });

    it.each<[string, GenerationQuery, (row: FixtureGeneration) => boolean]>([
      ["one status", { statuses: ["succeeded"] }, (row) => row.status === "succeeded"],
      [
        "several statuses",
        { statuses: ["pending", "submitted", "copying", "attached"] },
        (row) => ["pending", "submitted", "copying", "attached"].includes(row.status),
      ],
      ["no status: all", { statuses: [] }, () => true],
      [
        "from (inclusive)",
        { from: new Date("2026-12-03T08:00:00Z") },
        (row) => row.createdAt >= "2026-12-03T08:00:00Z",
      ],
      [
        "to (exclusive)",
        { to: new Date("2026-12-01T11:00:00Z") },
        (row) => row.createdAt < "2026-12-01T11:00:00Z",
      ],
      [
        "from and to",
        { from: new Date("2026-12-01T11:00:00Z"), to: new Date("2026-12-03T08:00:00Z") },
        (row) => row.createdAt >= "2026-12-01T11:00:00Z" && row.createdAt < "2026-12-03T08:00:00Z",
      ],
      [
        "a correlation key",
        { correlation: { key: "run" } },
        (row) => row.correlation?.run !== undefined && row.correlation.run !== null,
      ],
      ["a correlation key whose value is null", { correlation: { key: "note" } }, (row) => row.id === "g10"],
      [
        "a correlation key and string value",
        { correlation: { key: "run", value: "r1" } },
        (row) => row.correlation?.run === "r1",
      ],
      [
        "a correlation value that is a number or a string",
        { correlation: { key: "run", value: "3" } },
        (row) => String(row.correlation?.run) === "3",
      ],
      [
        "a number value by its text",
        { correlation: { key: "shot", value: "1" } },
        (row) => row.correlation?.shot === 1,
      ],
      ["a value no record has", { correlation: { key: "run", value: "r9" } }, () => false],
      ["a key no record has", { correlation: { key: "absent" } }, () => false],
      ["a prompt word prefix, any case", { promptText: "FOX" }, (row) => /fox/i.test(row.prompt)],
      ["every prompt word must match", { promptText: "red fox dawn" }, (row) => row.id === "g01"],
      ["prefixes of words", { promptText: "sun harb" }, (row) => ["g04", "g05"].includes(row.id)],
      ["not a word's middle", { promptText: "arbour" }, () => false],
      ["a hyphenated word by its parts", { promptText: "sail-boat" }, (row) => row.id === "g03"],
      ["one part of a hyphenated word", { promptText: "boat" }, (row) => row.id === "g03"],
      ["markup in the prompt is text", { promptText: "<script>" }, (row) => row.id === "g07"],
      ["a word inside markup", { promptText: "script alert" }, (row) => row.id === "g07"],
      [
        "SQL metacharacters are text",
        { promptText: "'; DROP TABLE generations; --" },
        (row) => row.id === "g08",
      ],
      ["LIKE wildcards are text", { promptText: "100% _waves_" }, (row) => row.id === "g08"],
      ["a backslash is text", { promptText: "\\ crash" }, (row) => ["g08", "g09", "g10"].includes(row.id)],
      ["text without a word matches nothing", { promptText: "%%% ;" }, () => false],
      ["the seed of the result", { seed: 7 }, (row) => row.resultSeed === 7],
      [
        "the seed of the request before a result; the result's after",
        { seed: 5 },
        (row) => ["g08", "g09", "g11"].includes(row.id),
      ],
      ["a seed only the request had, once the result has another", { seed: 202 }, () => false],
      ["the largest request seed", { seed: 2147483647 }, (row) => row.id === "g06"],
      ["ids", { ids: ["g02", "g09", "missing"] }, (row) => ["g02", "g09"].includes(row.id)],
      ["no ids: nothing", { ids: [] }, () => false],
    ])("filters by %s", async (_name, query, predicate) => {
      expect(await allIds(queries, query)).toEqual(select(predicate));
    });

    it("combines filters (all must hold)", async () => {
      const query: GenerationQuery = {
        statuses: ["succeeded", "failed"],
        from: new Date("2026-12-01T10:30:00Z"),
        to: new Date("2026-12-05T00:00:00Z"),
        correlation: { key: "run" },
        promptText: "timelapse clouds",
      };
      expect(await allIds(queries, query)).toEqual(["g12", "g11"]);
      expect(await allIds(queries, { ...query, correlation: { key: "run", value: "3" }, seed: 5 })).toEqual([
        "g11",
      ]);
      expect(
        await allIds(queries, { statuses: ["succeeded"], correlation: { key: "run", value: "r2" }, seed: 7 }),
      ).toEqual(["g05", "g04"]);
      expect(await allIds(queries, { ids: ["g01", "g02", "g03"], statuses: ["failed"] })).toEqual(["g03"]);
    });

    it("pages through ties in created_at without repeating or skipping a record, at every page size", async () => {
      // 45 more records on 4 instants (microseconds apart), with ids that sort differently from insertion order.
      const instants = [
        "2026-12-05T00:00:00.000001Z",
        "2026-12-05T00:00:00.000002Z",
        "2026-12-05T00:00:00.001Z",
        "2026-12-05T00:00:01Z",
      ];
      const tied: FixtureGeneration[] = Array.from({ length: 45 }, (_, index) => ({
        id: `tie-${String((index * 17) % 45).padStart(2, "0")}`,
        status: index % 3 === 0 ? "failed" : "succeeded",
        createdAt: instants[index % instants.length] as string,
        prompt: `take ${index}`,
      }));
      await insertGenerations(sql, tied);
      const everything = newestFirst([...FIXTURES, ...tied]);
      for (const limit of [1, 2, 7, 24, 200]) {
        const ids = await allIds(queries, {}, limit);
        expect(ids).toEqual(everything);
      }
      const failed = newestFirst([...FIXTURES, ...tied].filter((row) => row.status === "failed"));
      expect(await allIds(queries, { statuses: ["failed"] }, 4)).toEqual(failed);
    });

    it("keeps its place when newer records arrive between pages", async () => {
      const first = await queries.page({}, { limit: 4 });
      await insertGenerations(sql, [
        { id: "g99", status: "pending", createdAt: "2026-12-31T00:00:00Z", prompt: "a newer one" },
      ]);
      const second = await queries.page({}, { cursor: first.nextCursor ?? undefined, limit: 4 });
      expect(second.records.map((record) => record.generationId)).toEqual(newestFirst(FIXTURES).slice(4, 8));
    });

    it("lowers a limit above 200 and raises one below 1", async () => {
      const many: FixtureGeneration[] = Array.from({ length: 205 }, (_, index) => ({
        id: `bulk-${String(index).padStart(3, "0")}`,
        status: "succeeded",
        createdAt: "2026-11-01T00:00:00Z",
        prompt: "bulk",
      }));
      await insertGenerations(sql, many);
      const page = await queries.page({}, { limit: 1000 });
      expect(page.records).toHaveLength(200);
      expect(page.nextCursor).not.toBeNull();
      expect((await queries.page({}, { limit: 0 })).records).toHaveLength(1);
      expect((await queries.page({})).records).toHaveLength(24);
    });

    it("refuses a cursor it did not make, naming the field", async () => {
      const page = await queries.page({}, { limit: 2 });
      const valid = page.nextCursor as string;
      for (const cursor of [
        "not a cursor",
        "abc",
        valid.slice(0, -2),
        Buffer.from('{"c":"x","i":"g01"}').toString("base64url"),
      ]) {
        const error = await queries.page({}, { cursor }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(InputError);
        expect(error).toMatchObject({ code: "invalid_input", issues: [{ field: "cursor" }] });
      }
    });

    it("refuses more than 50 ids, naming the field", async () => {
      const ids = Array.from({ length: 51 }, (_, index) => `g${index}`);
      await expect(queries.page({ ids })).rejects.toMatchObject({ issues: [{ field: "id" }] });
    });
  });

  describe("totals", () => {
    it("match a hand count, for everything and for a filter", async () => {
      expect(await queries.totals({})).toEqual({
        count: 12,
        succeeded: 5,
        failed: 2,
        canceled: 1,
        byStatus: { pending: 1, submitted: 1, copying: 1, attached: 1, succeeded: 5, failed: 2, canceled: 1 },
        // g05 is a cache hit: neither its seconds nor its cost count.
        videoSeconds: 5 + 10 + 5 + 15,
        cost: [
          { currency: "CNY", amount: expect.closeTo(0.5 + 1 + 1.5, 9) },
          { currency: "USD", amount: expect.closeTo(0.07, 9) },
        ],
      });
      expect(await queries.totals({ correlation: { key: "run", value: "r1" } })).toEqual({
        count: 3,
        succeeded: 2,
        failed: 1,
        canceled: 0,
        byStatus: { pending: 0, submitted: 0, copying: 0, attached: 0, succeeded: 2, failed: 1, canceled: 0 },
        videoSeconds: 15,
        cost: [{ currency: "CNY", amount: expect.closeTo(1.5, 9) }],
      });
      const none = await queries.totals({ seed: 999 });
      expect(none).toMatchObject({ count: 0, videoSeconds: 0, cost: [] });
    });

    it("count what the pages hold, whatever the filter", async () => {
      for (const query of [
        { statuses: ["succeeded" as const] },
        { promptText: "waves" },
        { from: new Date("2026-12-02T00:00:00Z") },
      ]) {
        const totals = await queries.totals(query);
        expect(totals.count).toBe((await allIds(queries, query)).length);
      }
    });
  });

  describe("groups", () => {
    it("groups by a correlation key, newest group first, with counts, newest record and totals", async () => {
      const groups = await queries.groups({ groupKey: "run" });
      // "3" holds the string "3" (g12) and the number 3 (g11): both read as the text 3.
      expect(groups.map((group) => [group.value, group.count, group.newestGenerationId])).toEqual([
        ["3", 2, "g12"],
        ["r3", 2, "g10"],
        ["r2", 3, "g06"],
        ["r1", 3, "g03"],
      ]);
      const r1 = groups.find((group) => group.value === "r1");
      expect(r1).toMatchObject({
        key: "run",
        newestCreatedAt: "2026-12-01T11:00:00.000Z",
        newest: { generationId: "g03", status: "failed" },
        totals: {
          count: 3,
          succeeded: 2,
          failed: 1,
          videoSeconds: 15,
          cost: [{ currency: "CNY", amount: 1.5 }],
        },
      });
      const r2 = groups.find((group) => group.value === "r2");
      expect(r2?.totals).toMatchObject({ count: 3, succeeded: 2, canceled: 1, videoSeconds: 5 });
      // Each group's value filters exactly its members.
      for (const group of groups) {
        const members = await allIds(queries, { correlation: { key: "run", value: group.value } });
        expect(members).toHaveLength(group.count);
        expect(members[0]).toBe(group.newestGenerationId);
      }
    });

    it("groups within the filter, to a limit, and finds nothing for a key nobody has", async () => {
      const failed = await queries.groups({ groupKey: "run", statuses: ["failed"] });
      expect(failed.map((group) => [group.value, group.count])).toEqual([
        ["3", 1],
        ["r1", 1],
      ]);
      const shots = await queries.groups({ groupKey: "shot" }, { limit: 2 });
      // Shots "1" and "3" both end at 11:00: ranked by their newest records' ids, as pages order them.
      expect(shots.map((group) => [group.value, group.count, group.newestGenerationId])).toEqual([
        ["2", 2, "g06"],
        ["1", 3, "g05"],
      ]);
      expect(await queries.groups({ groupKey: "note" })).toEqual([]);
      expect(await queries.groups({ groupKey: "nobody" })).toEqual([]);
    });

    it("ranks groups the same way when their newest records lie beyond the recent records read first", async () => {
      // 250 recent records in two batches (more than the 200 recent records read first for 3 groups), and two old
      // batches whose newest records share one instant.
      const rows: FixtureGeneration[] = Array.from({ length: 250 }, (_, index) => ({
        id: `big-${String(index).padStart(3, "0")}`,
        status: index % 10 === 0 ? "failed" : "succeeded",
        createdAt: new Date(Date.UTC(2026, 10, 1) + index * 60_000).toISOString(),
        prompt: "batch take",
        correlation: { batch: `b${index % 2}` },
        videoSeconds: 5,
        cost: { amount: 0.5, currency: "CNY" },
      }));
      const old = (id: string, batch: string, createdAt: string): FixtureGeneration => ({
        id,
        status: "canceled",
        createdAt,
        prompt: "old take",
        correlation: { batch },
      });
      rows.push(
        old("old-0", "o1", "2026-09-01T00:00:00Z"),
        old("old-1", "o1", "2026-10-01T00:00:00Z"),
        old("old-2", "o2", "2026-10-01T00:00:00Z"),
      );
      await insertGenerations(sql, rows);
      const summary = (groups: CorrelationGroup[]) =>
        groups.map((group) => [group.value, group.count, group.newestGenerationId]);
      const everyGroup = await queries.groups({ groupKey: "batch" });
      expect(summary(everyGroup)).toEqual([
        ["b1", 125, "big-249"],
        ["b0", 125, "big-248"],
        ["o2", 1, "old-2"],
        ["o1", 2, "old-1"],
      ]);
      // Three groups: the recent records hold only two values, so every record with the key is grouped.
      const three = await queries.groups({ groupKey: "batch" }, { limit: 3 });
      expect(three).toEqual(everyGroup.slice(0, 3));
      expect(three[1]?.totals).toMatchObject({ count: 125, failed: 25, succeeded: 100, videoSeconds: 500 });
      expect(three[1]?.totals.cost).toEqual([{ currency: "CNY", amount: expect.closeTo(50, 9) }]);
      const failed = await queries.groups({ groupKey: "batch", statuses: ["failed"] }, { limit: 1 });
      expect(summary(failed)).toEqual([["b0", 25, "big-240"]]);
    });

    it("shows the newest record's poster when it has one", async () => {
      await sql.query("UPDATE generations SET poster_key = 'posters/g12.webp' WHERE generation_id = 'g12'");
      const [newest] = await queries.groups({ groupKey: "run" }, { limit: 1 });
      expect(newest).toMatchObject({
        value: "3",
        newest: { generationId: "g12", posterKey: "posters/g12.webp" },
      });
    });
  });

  describe("queuePositions", () => {
    it("gives the 1-based place and the queue length of waiting generations only", async () => {
      await sql.query(
        `INSERT INTO provider_slot_waiters (holder, enqueued_at, seen_at) VALUES
           ('g07', now() - interval '3 minutes', now()),
           ('g10', now() - interval '2 minutes', now() - interval '1 hour'),
           ('g08', now() - interval '1 minute', now()),
           ('other', now() - interval '30 seconds', now())`,
      );
      await sql.query(
        "INSERT INTO provider_slots (holder, lease_expires_at) VALUES ('g09', now() + interval '1 hour')",
      );
      const positions = await queries.queuePositions(["g07", "g08", "g09", "g10", "g01"]);
      expect(Object.fromEntries(positions)).toEqual({
        g07: { position: 1, waiting: 4 },
        g10: { position: 2, waiting: 4 },
        g08: { position: 3, waiting: 4 },
      });
      expect((await queries.queuePositions([])).size).toBe(0);
      // A waiter that stopped asking (a dead run) loses its place, as the budget's next change would decide.
      const live = createGenerationQueries({ sql, staleWaiterMs: 10 * 60_000 });
      expect(Object.fromEntries(await live.queuePositions(["g07", "g08", "g10"]))).toEqual({
        g07: { position: 1, waiting: 3 },
        g08: { position: 2, waiting: 3 },
      });
    });
  });

  describe("the promoted seed", () => {
    it("follows the store: the request's seed at creation, the result's once recorded", async () => {
      const store = createPostgresMetadataStore({ sql });
      await store.upsertGeneration({
        generationId: "seeded",
        request: { prompt: "seeded", seed: 31337 },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: "run-1",
      });
      expect(await allIds(queries, { seed: 31337 })).toEqual(["seeded"]);
      await store.recordSucceeded("seeded", { ...response("seeded"), seed: 4242 });
      expect(await allIds(queries, { seed: 31337 })).toEqual([]);
      expect(await allIds(queries, { seed: 4242 })).toEqual(["seeded"]);
      await insertGenerations(sql, [
        {
          id: "unseeded",
          status: "pending",
          createdAt: "2026-12-01T00:00:00Z",
          prompt: "x",
          requestSeed: -3.5,
        },
      ]);
      const { rows } = await sql.query<{ seed: number | null }>(
        "SELECT seed::int AS seed FROM generations WHERE generation_id = 'unseeded'",
      );
      expect(rows[0]?.seed).toBeNull();
    });
  });
}
