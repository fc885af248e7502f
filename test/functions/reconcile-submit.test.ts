import { randomUUID } from "node:crypto";
import { MockAgent } from "undici";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import {
  RECONCILE_CREATION_WINDOW_MS,
  RECONCILE_LISTING_DELAY_MS,
  reconcileSubmit,
} from "../../src/functions/reconcile-submit.ts";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type MetadataStore,
  type SqlClient,
} from "../../src/metadata/index.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import type { ProviderStartInput, VideoProvider } from "../../src/providers/provider.ts";
import { type SandboxHandle, type SandboxListReading, startSandbox } from "../../src/sandbox/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import {
  call,
  dataUri,
  makeImage,
  submitBody,
  submitHeaders,
  submitPath,
} from "../sandbox/sandbox-test-helpers.ts";

/*
 * The reconciliation after an ambiguous submit, run over HTTP with the real DashScope client against the sandbox
 * serving each plausible reading of what the task list leaves undocumented (dashscope.md 3.8), with the tasks of other
 * clients of the same key around it and the real PostgreSQL metadata store. Every case asserts one provider task per
 * request, and that the other clients' tasks are left alone.
 */

const MINUTE = 60_000;
const SETTLE_MS = RECONCILE_CREATION_WINDOW_MS + RECONCILE_LISTING_DELAY_MS;

let database: { url: string; drop(): Promise<void> };
let sql: SqlClient;
let store: MetadataStore;
let image: Buffer;

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  sql = createPgSqlClient({ connectionString: database.url });
  store = createPostgresMetadataStore({ sql });
  await store.migrate();
  image = await makeImage(240, 240);
});
afterAll(async () => {
  await sql?.close();
  await database?.drop();
});

/** A generation record, as the stage's validate step leaves it. */
async function newGeneration(prompt: string): Promise<string> {
  const generationId = `gen-${randomUUID()}`;
  await store.upsertGeneration({
    generationId,
    request: { prompt },
    cacheMode: "use",
    provider: "dashscope",
    model: "wan2.6-i2v-flash",
    correlation: null,
    runId: `run-${generationId}`,
  });
  return generationId;
}

/** A sandbox reading the list one way, on a clock the test moves, with the account's documented 20 QPS. */
interface World {
  sandbox: SandboxHandle;
  provider: VideoProvider;
  clock: { now: number };
  close(): Promise<void>;
}

async function startWorld(list: SandboxListReading = {}): Promise<World> {
  const clock = { now: Date.now() };
  const sandbox = await startSandbox({
    // Tasks stay PENDING: reconciliation reads the list only, and no ffmpeg runs.
    timings: { pendingMs: 3_600_000, renderMs: 0 },
    concurrencyLimit: 10_000,
    submitsPerSecond: 10_000,
    now: () => clock.now,
    list,
  });
  const provider = createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl });
  return { sandbox, provider, clock, close: () => sandbox.close() };
}

/** Another client of the same key creates a task at `at` (sandbox clock); returns its id. */
async function otherClientTask(world: World, at: number): Promise<string> {
  const saved = world.clock.now;
  world.clock.now = at;
  try {
    const response = await call(`${world.sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(world.sandbox.apiKey),
      body: submitBody(dataUri(image), {}, { prompt: `another client, ${randomUUID()}` }),
    });
    expect(response.status).toBe(200);
    return response.json().output.task_id;
  } finally {
    world.clock.now = saved;
  }
}

const startInput = (prompt: string): ProviderStartInput => ({
  prompt,
  resolution: "720P",
  duration: 2,
  seed: 11,
  audio: false,
  image: { kind: "url", url: dataUri(image) },
});

interface Neighbourhood {
  /** Tasks of other clients of the key (never recorded by the stage). */
  foreign: string[];
  /** A task another generation of this stage created and recorded inside the attempt's window. */
  ownOther: string;
}

/**
 * The account around an attempt at `attemptAt`: other clients' tasks spread over the last 23 h (more than three pages
 * of 10), two just before the window, one just after it (created later), and a task of another generation of ours
 * inside the window, recorded by it.
 */
async function populate(world: World, attemptAt: number): Promise<Neighbourhood> {
  const foreign: string[] = [];
  for (let index = 1; index <= 32; index += 1) {
    foreign.push(await otherClientTask(world, attemptAt - index * 43 * MINUTE));
  }
  foreign.push(await otherClientTask(world, attemptAt - 2 * MINUTE));
  foreign.push(await otherClientTask(world, attemptAt - 61_000));
  foreign.push(await otherClientTask(world, attemptAt + RECONCILE_CREATION_WINDOW_MS + 15_000));
  const ownOther = await otherClientTask(world, attemptAt + 5_000);
  await store.recordSubmitted(await newGeneration("another generation of this stage"), { taskId: ownOther });
  return { foreign, ownOther };
}

interface Outcome {
  taskId: string;
  how: "adopted" | "resubmitted";
  /** Codes of the retryable errors the reconciliation answered before it settled. */
  pending: string[];
  /** Sandbox-clock milliseconds from the attempt to the answer. */
  settledAfterMs: number;
}

/**
 * One generation's submit step as the stage runs it: the attempt is recorded, the POST fails ambiguously (`fault`), and
 * each retry of the step reconciles first; a retry waits as the step would (1 s, 2 s, 4 s … capped at 64 s).
 */
async function ambiguousSubmit(
  world: World,
  prompt: string,
  fault: "reset-after-create" | "reset",
): Promise<Outcome & { generationId: string }> {
  const generationId = await newGeneration(prompt);
  await store.beginSubmit(generationId);
  const attemptedAt = new Date(world.clock.now);
  world.sandbox.faults.inject({ route: "submit", kind: fault });
  const first = await world.provider.start(startInput(prompt)).catch((error: unknown) => error);
  expect(first).toBeInstanceOf(ProviderError);
  expect((first as ProviderError).kind).toBe("ambiguous_submit");

  const pending: string[] = [];
  for (let retry = 0; retry < 20; retry += 1) {
    world.clock.now += Math.min(64_000, 1_000 * 2 ** retry);
    try {
      const adopted = await reconcileSubmit({
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt,
        now: new Date(world.clock.now),
      });
      const settledAfterMs = world.clock.now - attemptedAt.getTime();
      if (adopted) return { generationId, taskId: adopted, how: "adopted", pending, settledAfterMs };
      const started = await world.provider.start(startInput(prompt));
      await store.recordSubmitted(generationId, { taskId: started.taskId });
      return { generationId, taskId: started.taskId, how: "resubmitted", pending, settledAfterMs };
    } catch (error) {
      if (!(error instanceof ProviderError && error.retryable)) throw error;
      pending.push(error.code);
    }
  }
  throw new Error("the reconciliation never settled");
}

/** One provider task for the request, recorded for it; the other clients' tasks untouched and unrecorded. */
async function expectOneTaskPerRequest(
  world: World,
  outcome: Outcome & { generationId: string },
  prompt: string,
  neighbourhood: Neighbourhood,
): Promise<void> {
  const ours = world.sandbox.tasks().filter((task) => task.prompt === prompt);
  expect(ours.map((task) => task.taskId)).toEqual([outcome.taskId]);
  expect((await store.get(outcome.generationId))?.taskId).toBe(outcome.taskId);
  expect(await store.knownTaskIds(neighbourhood.foreign)).toEqual(new Set());
  const foreign = world.sandbox.tasks().filter((task) => neighbourhood.foreign.includes(task.taskId));
  expect(foreign).toHaveLength(neighbourhood.foreign.length);
  expect(foreign.every((task) => task.status === "PENDING")).toBe(true);
  expect(world.sandbox.stats().queriesThrottled).toBe(0);
}

const READINGS: Array<{ name: string; list: SandboxListReading }> = [
  { name: "UTC+8 filters, 100 rows a page, newest first, listed at once", list: {} },
  {
    name: "UTC filters, 10 rows a page even when 100 are asked, oldest first, listed at once",
    list: { timeFilterUtcOffsetMinutes: 0, maxPageSize: 10, overMaxPageSize: "cap", order: "oldest-first" },
  },
  {
    name: "UTC filters, page sizes over 10 refused, newest first, listed 5 s after creation",
    list: {
      timeFilterUtcOffsetMinutes: 0,
      maxPageSize: 10,
      overMaxPageSize: "refuse",
      listingDelayMs: 5_000,
    },
  },
  {
    name: "UTC-5 filters, 10 rows a page, oldest first, listed 3 s after creation",
    list: {
      timeFilterUtcOffsetMinutes: -300,
      maxPageSize: 10,
      overMaxPageSize: "cap",
      order: "oldest-first",
      listingDelayMs: 3_000,
    },
  },
];

describe.each(READINGS)("reconciliation when the list reads: $name", ({ list }) => {
  it("adopts the task a submit whose response was lost created, and nothing else", async () => {
    const world = await startWorld(list);
    try {
      const neighbourhood = await populate(world, world.clock.now);
      const prompt = `lost response, ${randomUUID()}`;
      const outcome = await ambiguousSubmit(world, prompt, "reset-after-create");
      expect(outcome.how).toBe("adopted");
      expect(outcome.taskId).not.toBe(neighbourhood.ownOther);
      // A listing delay is waited out (the first retry comes 1 s after the attempt); no delay, no wait.
      const delayed = (list.listingDelayMs ?? 0) > 1_000;
      expect(outcome.pending.length > 0).toBe(delayed);
      expect(outcome.pending.every((code) => code === "reconcile_pending")).toBe(true);
      await expectOneTaskPerRequest(world, outcome, prompt, neighbourhood);
    } finally {
      await world.close();
    }
  });

  it("submits again only after a task created in the window would have been listed, when none was created", async () => {
    const world = await startWorld(list);
    try {
      const neighbourhood = await populate(world, world.clock.now);
      const prompt = `lost request, ${randomUUID()}`;
      const outcome = await ambiguousSubmit(world, prompt, "reset");
      expect(outcome.how).toBe("resubmitted");
      expect(outcome.pending.length).toBeGreaterThan(0);
      expect(outcome.pending.every((code) => code === "reconcile_pending")).toBe(true);
      expect(outcome.settledAfterMs).toBeGreaterThanOrEqual(SETTLE_MS);
      await expectOneTaskPerRequest(world, outcome, prompt, neighbourhood);
    } finally {
      await world.close();
    }
  });
});

describe("reconciliation: what it must not guess", () => {
  it("several unrecorded tasks in the window: retryable reconcile_ambiguous, nothing adopted, nothing submitted", async () => {
    const world = await startWorld({ maxPageSize: 10, overMaxPageSize: "cap" });
    try {
      const attemptAt = world.clock.now;
      const foreign = await otherClientTask(world, attemptAt + 2_000);
      const prompt = `crowded window, ${randomUUID()}`;
      const generationId = await newGeneration(prompt);
      world.sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
      await world.provider.start(startInput(prompt)).catch(() => undefined);
      world.clock.now = attemptAt + SETTLE_MS + 1_000;
      const error = await reconcileSubmit({
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(world.clock.now),
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: "reconcile_ambiguous", retryable: true });
      expect((await store.get(generationId))?.taskId ?? null).toBeNull();
      expect(await store.knownTaskIds([foreign])).toEqual(new Set());
      expect(world.sandbox.tasks().filter((task) => task.prompt === prompt)).toHaveLength(1);
    } finally {
      await world.close();
    }
  });

  it("another generation adopting the only candidate first: retryable, then that task is no longer a candidate", async () => {
    const world = await startWorld();
    try {
      const attemptAt = world.clock.now;
      const prompt = `race, ${randomUUID()}`;
      const generationId = await newGeneration(prompt);
      const rival = await newGeneration("a rival run");
      world.sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
      await world.provider.start(startInput(prompt)).catch(() => undefined);
      const taskId = world.sandbox.tasks().at(-1)?.taskId ?? "";
      // The rival records the task between this run's look at the known ids and its own record.
      const racing: MetadataStore = {
        ...store,
        knownTaskIds: async (ids) => {
          const known = await store.knownTaskIds(ids);
          await store.recordSubmitted(rival, { taskId });
          return known;
        },
      };
      const error = await reconcileSubmit({
        provider: world.provider,
        metadataStore: racing,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(attemptAt + 1_000),
      }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "reconcile_ambiguous", retryable: true });
      expect((await store.get(rival))?.taskId).toBe(taskId);
      const later = await reconcileSubmit({
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(attemptAt + 2_000),
      }).catch((caught: unknown) => caught);
      expect(later).toMatchObject({ code: "reconcile_pending" });
    } finally {
      await world.close();
    }
  });

  it("an attempt older than the 24 h the list covers: a non-retryable error, never a resubmission", async () => {
    const world = await startWorld();
    try {
      const generationId = await newGeneration("too late");
      const error = await reconcileSubmit({
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(world.clock.now - 23.5 * 3_600_000),
        now: new Date(world.clock.now),
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: "reconcile_too_late", retryable: false });
      expect(world.sandbox.stats().listQueries).toBe(0);
    } finally {
      await world.close();
    }
  });
});

describe("reconciliation: staying within the account's limits", () => {
  it("pages within the 20 QPS shared with the polls, while another run polls at 6 QPS", async () => {
    const world = await startWorld({ maxPageSize: 10, overMaxPageSize: "cap" });
    try {
      const attemptAt = world.clock.now;
      for (let index = 1; index <= 300; index += 1) {
        await otherClientTask(world, attemptAt - index * 4 * MINUTE);
      }
      const prompt = `busy account, ${randomUUID()}`;
      const generationId = await newGeneration(prompt);
      world.sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
      await world.provider.start(startInput(prompt)).catch(() => undefined);
      const polled = world.sandbox.tasks()[0]?.taskId ?? "";
      let polling = true;
      const poller = (async () => {
        while (polling) {
          await world.provider.status(polled);
          await new Promise((resolve) => setTimeout(resolve, 165));
        }
      })();
      const listsBefore = world.sandbox.stats().listQueries;
      const adopted = await reconcileSubmit({
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(attemptAt + 1_000),
      }).finally(() => {
        polling = false;
      });
      await poller;
      expect(adopted).toBe(world.sandbox.tasks().find((task) => task.prompt === prompt)?.taskId);
      // 301 tasks, 10 a page: unpaced, the 31 pages would take well under the second the limit counts.
      expect(world.sandbox.stats().listQueries - listsBefore).toBe(31);
      expect(world.sandbox.stats().queriesThrottled).toBe(0);
    } finally {
      await world.close();
    }
  });

  it("asks a throttled page again after a short wait, and gives up to the step's retry after three", async () => {
    const world = await startWorld({ maxPageSize: 10, overMaxPageSize: "cap" });
    try {
      const attemptAt = world.clock.now;
      for (let index = 1; index <= 15; index += 1)
        await otherClientTask(world, attemptAt - index * MINUTE * 5);
      const prompt = `throttled list, ${randomUUID()}`;
      const generationId = await newGeneration(prompt);
      world.sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
      await world.provider.start(startInput(prompt)).catch(() => undefined);
      const waits: number[] = [];
      const sleep = async (milliseconds: number) => {
        waits.push(milliseconds);
      };
      const input = {
        provider: world.provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(attemptAt + 1_000),
        sleep,
      };
      world.sandbox.faults.inject({ route: "list", kind: "throttle", times: 4 });
      const error = await reconcileSubmit(input).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: "throttled", code: "Throttling.RateQuota", retryable: true });
      expect(waits.filter((wait) => wait >= 1_000)).toEqual([1_000, 2_000, 4_000]);

      waits.length = 0;
      world.sandbox.faults.inject({ route: "list", kind: "throttle", times: 2 });
      const adopted = await reconcileSubmit(input);
      expect(adopted).toBe(world.sandbox.tasks().find((task) => task.prompt === prompt)?.taskId);
      expect(waits.filter((wait) => wait >= 1_000)).toEqual([1_000, 2_000]);
    } finally {
      await world.close();
    }
  });
});

describe("reconciliation: rows the list should not hold", () => {
  const ORIGIN = "https://dashscope.aliyuncs.com";

  it("ignores a task of another model in the window, and reads every page the list says it has", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const provider = createDashscopeVideoProvider({
      apiKey: "sk-test",
      baseUrl: `${ORIGIN}/api/v1`,
      dispatcher: agent,
    });
    const attemptAt = Date.parse("2026-11-28T10:00:00Z");
    const row = (taskId: string, offsetMs: number, model = "wan2.6-i2v-flash") => ({
      task_id: taskId,
      status: "PENDING",
      model_name: model,
      gmt_create: attemptAt + offsetMs,
    });
    const page = (pageNo: number, data: unknown[]) =>
      agent
        .get(ORIGIN)
        .intercept({
          method: "GET",
          path: `/api/v1/tasks/?model_name=wan2.6-i2v-flash&page_no=${pageNo}&page_size=100`,
        })
        .reply(200, JSON.stringify({ total: 3, total_page: 2, page_no: pageNo, page_size: 2, data }));
    // A server that ignored model_name: the other model's task sits in the window too.
    page(1, [row("other-model", 1_000, "wan2.6-i2v"), row("old", -3_600_000)]);
    page(2, [row("ours", 2_000)]);
    const generationId = await newGeneration("mocked list");
    try {
      const adopted = await reconcileSubmit({
        provider,
        metadataStore: store,
        generationId,
        attemptedAt: new Date(attemptAt),
        now: new Date(attemptAt + 5_000),
      });
      expect(adopted).toBe("ours");
      agent.assertNoPendingInterceptors();
    } finally {
      await agent.close();
    }
  });
});
