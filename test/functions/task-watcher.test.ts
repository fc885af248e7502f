import { afterEach, describe, expect, inject, it } from "vitest";
import { WAN_MODEL } from "../../src/contract/wan-model.ts";
import {
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_CHECKS,
  type WatchedPollInput,
  watchedPollDelayMs,
} from "../../src/functions/poll-schedule.ts";
import { providerBudget } from "../../src/functions/provider-budget.ts";
import { createProgressRecorder } from "../../src/functions/record-progress.ts";
import { settleTaskEnding } from "../../src/functions/settle-task-ending.ts";
import { checkTask } from "../../src/functions/steps/poll-step.ts";
import type {
  StageSettings,
  VideoGenerateDependencies,
} from "../../src/functions/video-generate-dependencies.ts";
import { fallbackWaitMs, slotWaitTimings, WATCHED_CHECKS } from "../../src/functions/wait-schedule.ts";
import { type WatchOutcome, type WatchSleep, watchTasks } from "../../src/functions/watch-tasks.ts";
import { createPgSqlClient, type MetadataStore, type SqlClient } from "../../src/metadata/index.ts";
import type { ProviderTaskListQuery, VideoProvider } from "../../src/providers/provider.ts";
import type { SandboxHandle, SandboxListReading } from "../../src/sandbox/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { type StageHarness, startStageHarness } from "../helpers/stage-harness.ts";
import { dataUri, makeImage } from "../sandbox/sandbox-test-helpers.ts";

/**
 * The account-wide task watcher's step body (`watchTasks`), the one place endings are settled (`settleTaskEnding`),
 * and the run's side of it (`checkTask` with `taskWatcher`), against the sandbox over HTTP and a real PostgreSQL
 * database. Tasks are created through the real DashScope client and recorded through the store's own API, as the
 * submit step does. The provider is wrapped only to count its calls.
 */

const TASK_ENDED = "video/generation.task-ended";
const SLOT_GRANTED = "video/generation.slot-granted";
/** Tasks whose prompt starts with this end at once (after the sandbox's render); the others run for ten minutes. */
const QUICK = "quick:";
const WATCHER_LEASE_MS = 60_000;

/** Every call the watcher (or a poll) made to the provider, by kind. */
interface ProviderCalls {
  start: number;
  status: string[];
  list: ProviderTaskListQuery[];
  cancel: string[];
}

function countingProvider(base: VideoProvider): {
  provider: VideoProvider;
  calls: ProviderCalls;
  reset(): void;
} {
  const calls: ProviderCalls = { start: 0, status: [], list: [], cancel: [] };
  const provider: VideoProvider = {
    name: base.name,
    model: base.model,
    start: (input, options) => {
      calls.start++;
      return base.start(input, options);
    },
    status: (taskId, options) => {
      calls.status.push(taskId);
      return base.status(taskId, options);
    },
    cancel: (taskId, options) => {
      calls.cancel.push(taskId);
      return base.cancel(taskId, options);
    },
    listTasks: (query, options) => {
      calls.list.push(query);
      return base.listTasks(query, options);
    },
  };
  return {
    provider,
    calls,
    reset() {
      calls.start = 0;
      calls.status.length = 0;
      calls.list.length = 0;
      calls.cancel.length = 0;
    },
  };
}

interface World {
  harness: StageHarness;
  sandbox: SandboxHandle;
  store: MetadataStore;
  /** A client of the same database, for what the store has no API for (reading slot rows, backdating). */
  sql: SqlClient;
  /** The stage's dependencies with the counting provider. */
  dependencies: VideoGenerateDependencies;
  calls: ProviderCalls;
  resetCalls(): void;
  image: Buffer;
  close(): Promise<void>;
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function startWorld(
  settings: Partial<StageSettings> = {},
  list: SandboxListReading = {},
): Promise<World> {
  // The harness makes its own database too; this one is named here so that a second client can reach it.
  const database = await createTestDatabase(inject("postgresUrl"));
  const harness = await startStageHarness({
    sandbox: {
      timings: {
        pendingMs: 200,
        renderMs: (task) => (task.prompt?.startsWith(QUICK) ? 200 : 10 * 60_000),
      },
      list,
    },
    environment: { DATABASE_URL: database.url },
    settings: { taskWatcher: true, ...settings },
  });
  const sql = createPgSqlClient({ connectionString: database.url, max: 2 });
  const counting = countingProvider(harness.dependencies.provider);
  return {
    harness,
    sandbox: harness.sandbox,
    store: harness.dependencies.metadataStore,
    sql,
    dependencies: { ...harness.dependencies, provider: counting.provider },
    calls: counting.calls,
    resetCalls: counting.reset,
    image: await makeImage(320, 240),
    async close() {
      await harness.close();
      await sql.close();
      await database.drop();
    },
  };
}

/**
 * A generation as the pipeline leaves it after `submit`: record created, budget slot taken, the submit recorded, the
 * task created at the sandbox and its id recorded (status `submitted`). Returns the task id.
 */
async function submitGeneration(
  w: World,
  generationId: string,
  options: { quick: boolean },
): Promise<string> {
  const { store } = w;
  const prompt = `${options.quick ? QUICK : "slow:"} ${generationId}, a lighthouse at dusk`;
  await store.upsertGeneration({
    generationId,
    request: { prompt },
    cacheMode: "use",
    provider: "dashscope",
    model: WAN_MODEL,
    correlation: null,
    runId: `run-${generationId}`,
  });
  expect(await providerBudget(w.dependencies).acquire(generationId)).toEqual({ acquired: true });
  await store.beginSubmit(generationId);
  // The harness's own provider: submits are not what these tests count.
  const started = await w.harness.dependencies.provider.start({
    prompt,
    resolution: "720P",
    duration: 2,
    // One seed and one image: every task shares one sandbox render (one ffmpeg run per test).
    seed: 7,
    audio: false,
    image: { kind: "url", url: dataUri(w.image) },
  });
  await store.recordSubmitted(generationId, {
    taskId: started.taskId,
    providerRequestId: started.requestId,
    resolution: "720P",
    duration: 2,
  });
  return started.taskId;
}

/** A generation queued for a budget slot (its `slot-N` found none free). */
async function queueWaiter(w: World, generationId: string): Promise<void> {
  await w.store.upsertGeneration({
    generationId,
    request: { prompt: "a queued one" },
    cacheMode: "use",
    provider: "dashscope",
    model: WAN_MODEL,
    correlation: null,
    runId: `run-${generationId}`,
  });
  expect(await providerBudget(w.dependencies).acquire(generationId)).toMatchObject({
    acquired: false,
    position: 1,
  });
}

const until = async (condition: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/**
 * Waits until the sandbox reports each task in the status given, and each is older than the watcher's interval (1 s):
 * the watcher asks about a task the list does not show only from then on (a younger one is nearly always PENDING).
 */
async function untilSandbox(w: World, expected: Record<string, string>): Promise<void> {
  const taskOf = (taskId: string) => w.sandbox.tasks().find((task) => task.taskId === taskId);
  await until(
    () => Object.entries(expected).every(([taskId, status]) => taskOf(taskId)?.status === status),
    30_000,
    `sandbox tasks ${JSON.stringify(expected)}`,
  );
  const newest = Math.max(...Object.keys(expected).map((taskId) => taskOf(taskId)?.submitTime ?? 0));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, newest + 1_100 - Date.now())));
}

/**
 * The watcher's sleep, injected: records each wait and runs `onSleep` (the world moving on while the watcher
 * waits). A watcher that keeps waiting fails the test instead of spinning through its real-time window.
 */
function recordingSleep(onSleep: (call: number) => Promise<void> = async () => {}) {
  const waits: number[] = [];
  const sleep: WatchSleep = async (ms) => {
    waits.push(ms);
    if (waits.length > 3) throw new Error(`the watcher kept waiting: ${JSON.stringify(waits)}`);
    await onSleep(waits.length);
  };
  return { sleep, waits };
}

function watch(w: World, holder: string, options: { successorOf?: string; sleep?: WatchSleep } = {}) {
  return watchTasks({
    holder,
    successorOf: options.successorOf,
    dependencies: w.dependencies,
    sleep: options.sleep ?? recordingSleep().sleep,
  });
}

async function slotRows(
  w: World,
): Promise<Array<{ holder: string; granted: boolean; announcements: number }>> {
  const { rows } = await w.sql.query<{ holder: string; granted: boolean; announcements: number }>(
    "SELECT holder, granted, announcements FROM provider_slots ORDER BY holder",
  );
  return rows;
}

async function leaseExpiry(w: World, holder: string): Promise<number> {
  const { rows } = await w.sql.query<{ expires: Date }>(
    "SELECT lease_expires_at AS expires FROM provider_slots WHERE holder = $1",
    [holder],
  );
  return rows[0]?.expires.getTime() ?? Number.NaN;
}

async function watcherRow(w: World): Promise<{ holder: string | null }> {
  const { rows } = await w.sql.query<{ holder: string | null }>(
    "SELECT holder FROM task_watcher WHERE id = 1",
  );
  return rows[0] ?? { holder: "missing row" };
}

const moveOn = (w: World, generationId: string) =>
  w.store.recordFailed(generationId, {
    code: "test_moved_on",
    message: "the run acted on its task's ending",
  });

const taskEnded = (outcome: WatchOutcome) => outcome.events.filter((event) => event.name === TASK_ENDED);

/**
 * What the task list does not document (dashscope.md 3.8): how soon a new task is listed, the order of rows, the
 * largest page. The watcher must find the same endings, and wrongly end nothing, under each reading.
 */
const LIST_READINGS: Array<[string, SandboxListReading]> = [
  ["a task is listed a minute after it is created", { listingDelayMs: 60_000 }],
  ["rows oldest first", { order: "oldest-first" }],
  ["at most 10 rows a page, larger pages refused", { maxPageSize: 10, overMaxPageSize: "refuse" }],
  ["at most 1 row a page, larger pages capped", { maxPageSize: 1, overMaxPageSize: "cap" }],
];

describe("the task watcher under each reading of the task list", () => {
  for (const [label, reading] of LIST_READINGS) {
    it(`finds the one ending and leaves the running tasks alone: ${label}`, async () => {
      world = await startWorld({ budget: 3 }, reading);
      const w = world;
      const quickTask = await submitGeneration(w, "gen-quick", { quick: true });
      const slowTask = await submitGeneration(w, "gen-slow", { quick: false });
      const otherSlow = await submitGeneration(w, "gen-slow-2", { quick: false });
      await untilSandbox(w, { [quickTask]: "SUCCEEDED", [slowTask]: "RUNNING", [otherSlow]: "RUNNING" });
      w.resetCalls();

      const outcome = await watch(w, "watcher-readings");

      expect(outcome).toMatchObject({ state: "watching", endings: 1 });
      expect(taskEnded(outcome).map((event) => event.data.task_id)).toEqual([quickTask]);
      expect(await w.store.recordedTaskEnd("gen-quick")).toEqual({ taskId: quickTask, status: "SUCCEEDED" });
      expect(await w.store.recordedTaskEnd("gen-slow")).toBeNull();
      expect(await w.store.recordedTaskEnd("gen-slow-2")).toBeNull();
      expect(w.calls.list.every((query) => query.status === "RUNNING" && query.pageSize === 10)).toBe(true);
      // A task the list did not show is asked about alone; one it showed RUNNING never is.
      if (reading.listingDelayMs)
        expect(w.calls.status.sort()).toEqual([quickTask, slowTask, otherSlow].sort());
      else expect(w.calls.status).toEqual([quickTask]);
    });
  }
});

describe("the task watcher's single queries", () => {
  it("asks about a task the list does not show only once it is older than one interval", async () => {
    world = await startWorld({ budget: 3 }, { listingDelayMs: 60_000 });
    const w = world;
    const older = await submitGeneration(w, "gen-older", { quick: false });
    await untilSandbox(w, { [older]: "RUNNING" });
    const fresh = await submitGeneration(w, "gen-fresh", { quick: false });
    w.resetCalls();
    const { sleep } = recordingSleep(async () => {
      throw new Error("stop after the first check");
    });
    await expect(watch(w, "watcher-young", { sleep })).rejects.toThrow("stop after the first check");
    // Neither is listed yet (the list's lag): the older one is asked about, the one just submitted is not.
    expect(w.calls.list).toHaveLength(1);
    expect(w.calls.status).toEqual([older]);
    expect(fresh).not.toBe(older);
  });
});

describe("the task watcher", () => {
  it("finds an ending among several tasks with one list call, settles it in one place and wakes the waiter", async () => {
    world = await startWorld({ budget: 3 });
    const w = world;
    const quickTask = await submitGeneration(w, "gen-quick", { quick: true });
    const slowTasks = [
      await submitGeneration(w, "gen-slow-1", { quick: false }),
      await submitGeneration(w, "gen-slow-2", { quick: false }),
    ];
    await queueWaiter(w, "gen-waiter");
    await untilSandbox(w, {
      [quickTask]: "SUCCEEDED",
      [slowTasks[0]!]: "RUNNING",
      [slowTasks[1]!]: "RUNNING",
    });
    const slowLeaseBefore = await leaseExpiry(w, "gen-slow-1");
    w.resetCalls();

    const { sleep, waits } = recordingSleep();
    const outcome = await watch(w, "watcher-1", { sleep });

    expect(outcome).toMatchObject({ state: "watching", endings: 1, providerCalls: 2 });
    expect(waits).toEqual([]);
    expect(taskEnded(outcome)).toEqual([
      {
        id: `task-ended-${quickTask}`,
        name: TASK_ENDED,
        data: { generation_id: "gen-quick", task_id: quickTask, task_status: "SUCCEEDED", source: "watcher" },
      },
    ]);
    expect(outcome.events.filter((event) => event.name === SLOT_GRANTED)).toEqual([
      expect.objectContaining({ name: SLOT_GRANTED, data: { generation_id: "gen-waiter" } }),
    ]);
    expect(outcome.events).toHaveLength(2);

    // One list call for the RUNNING tasks; a status query only for the one the list did not show.
    expect(w.calls.list).toEqual([expect.objectContaining({ pageNo: 1, status: "RUNNING" })]);
    expect(w.calls.status).toEqual([quickTask]);
    expect(w.calls.start).toBe(0);

    // Recorded, its slot freed and handed to the waiter; the tasks still going keep theirs, renewed.
    expect(await w.store.recordedTaskEnd("gen-quick")).toEqual({ taskId: quickTask, status: "SUCCEEDED" });
    expect(await w.store.recordedTaskEnd("gen-slow-1")).toBeNull();
    expect(await slotRows(w)).toEqual([
      { holder: "gen-slow-1", granted: false, announcements: 0 },
      { holder: "gen-slow-2", granted: false, announcements: 0 },
      { holder: "gen-waiter", granted: true, announcements: 1 },
    ]);
    expect(await leaseExpiry(w, "gen-slow-1")).toBeGreaterThan(slowLeaseBefore);
    // The announcement is counted; the watcher holds its lease.
    const watched = await w.store.watchedTasks();
    expect(watched.map((task) => [task.generationId, task.endStatus, task.endSignals])).toEqual([
      ["gen-quick", "SUCCEEDED", 1],
      ["gen-slow-1", null, 0],
      ["gen-slow-2", null, 0],
    ]);
    expect(await w.store.watcherActive()).toBe(true);
    expect(await watcherRow(w)).toEqual({ holder: "watcher-1" });
  });

  it("acts alone: an overlapping watcher finds the lease held and asks the provider nothing; a successor takes over", async () => {
    world = await startWorld();
    const w = world;
    const firstTask = await submitGeneration(w, "gen-first", { quick: true });
    await untilSandbox(w, { [firstTask]: "SUCCEEDED" });
    w.resetCalls();

    // Two watchers at once: one acts, the other does nothing.
    const [a, b] = await Promise.all([watch(w, "watcher-a"), watch(w, "watcher-b")]);
    const outcomes = [a, b].sort((x, y) => x.state.localeCompare(y.state));
    expect(outcomes.map((outcome) => outcome.state)).toEqual(["lease-held", "watching"]);
    expect(outcomes[0]).toEqual({ state: "lease-held", events: [], endings: 0, providerCalls: 0 });
    expect(outcomes[1]).toMatchObject({ endings: 1, providerCalls: 1 });
    expect(taskEnded(outcomes[1]!).map((event) => event.id)).toEqual([`task-ended-${firstTask}`]);
    // One task in flight: one status query, no list; nothing from the watcher that found the lease held.
    expect(w.calls.status).toEqual([firstTask]);
    expect(w.calls.list).toEqual([]);
    const first = a.state === "watching" ? "watcher-a" : "watcher-b";
    const second = first === "watcher-a" ? "watcher-b" : "watcher-a";

    // While the first holds the lease, the second keeps finding it held.
    w.resetCalls();
    expect(await watch(w, second)).toEqual({ state: "lease-held", events: [], endings: 0, providerCalls: 0 });
    expect(w.calls.status).toEqual([]);
    expect(w.calls.list).toEqual([]);

    // The run acts on its ending while the first watcher waits: with nothing left, it lets go of the lease.
    const idleSleep = recordingSleep(async () => {
      await moveOn(w, "gen-first");
    });
    expect(await watch(w, first, { sleep: idleSleep.sleep })).toEqual({
      state: "idle",
      events: [],
      endings: 0,
      providerCalls: 0,
    });
    expect(idleSleep.waits).toEqual([1_000]);
    expect(await w.store.watcherActive()).toBe(false);

    // Then the other one can take it, and acts.
    const nextTask = await submitGeneration(w, "gen-next", { quick: true });
    await untilSandbox(w, { [nextTask]: "SUCCEEDED" });
    w.resetCalls();
    const taken = await watch(w, second);
    expect(taken).toMatchObject({ state: "watching", endings: 1, providerCalls: 1 });
    expect(taskEnded(taken).map((event) => event.id)).toEqual([`task-ended-${nextTask}`]);
    expect(await watcherRow(w)).toEqual({ holder: second });
    expect(await watch(w, first)).toMatchObject({ state: "lease-held", providerCalls: 0 });

    // A watcher continuing `second` (its fresh run) takes over the held lease at once; `second` has lost it.
    const successorSleep = recordingSleep(async () => {
      expect(await watcherRow(w)).toEqual({ holder: `${second}-continued` });
      expect(await w.store.takeWatcherLease(second, { leaseMs: WATCHER_LEASE_MS })).toBe(false);
      await moveOn(w, "gen-next");
    });
    expect(
      await watch(w, `${second}-continued`, { successorOf: second, sleep: successorSleep.sleep }),
    ).toEqual({
      state: "idle",
      events: [],
      endings: 0,
      providerCalls: 0,
    });
    expect(successorSleep.waits).toEqual([1_000]);
    expect(await w.store.watcherActive()).toBe(false);
    expect(await watcherRow(w)).toEqual({ holder: null });
  });

  it("ends idle with nothing in flight, and never lets go of the lease once a task is recorded", async () => {
    world = await startWorld({ budget: 1 });
    const w = world;
    const { sleep, waits } = recordingSleep();
    expect(await watch(w, "watcher-idle", { sleep })).toEqual({
      state: "idle",
      events: [],
      endings: 0,
      providerCalls: 0,
    });
    expect(waits).toEqual([]);
    expect(w.calls).toEqual({ start: 0, status: [], list: [], cancel: [] });
    expect(await w.store.watcherActive()).toBe(false);
    expect(await watcherRow(w)).toEqual({ holder: null });

    // The race rule: a watcher that saw nothing to watch, then a task recorded before it lets go.
    expect(await w.store.takeWatcherLease("watcher-race", { leaseMs: WATCHER_LEASE_MS })).toBe(true);
    expect(await w.store.watcherActive()).toBe(true);
    await submitGeneration(w, "gen-raced", { quick: false });
    expect(await w.store.releaseWatcherLease("watcher-race", { onlyIfIdle: true })).toBe(false);
    expect(await w.store.watcherActive()).toBe(true);
    // Only the holder lets go.
    expect(await w.store.releaseWatcherLease("someone-else", { onlyIfIdle: false })).toBe(false);
    expect(await watcherRow(w)).toEqual({ holder: "watcher-race" });

    // A grant its waiter has not taken keeps the watcher too (it re-announces it).
    await queueWaiter(w, "gen-waiting");
    await moveOn(w, "gen-raced");
    expect((await providerBudget(w.dependencies).release("gen-raced")).grantedTo).toEqual(["gen-waiting"]);
    expect(await w.store.releaseWatcherLease("watcher-race", { onlyIfIdle: true })).toBe(false);
    // Taken: now the watcher may go.
    expect(await providerBudget(w.dependencies).acquire("gen-waiting")).toEqual({ acquired: true });
    expect(await w.store.releaseWatcherLease("watcher-race", { onlyIfIdle: true })).toBe(true);
    expect(await w.store.watcherActive()).toBe(false);
  });

  it("settles an ending once, however often it is reported, and re-announces it only after the pause", async () => {
    world = await startWorld({ budget: 1 });
    const w = world;
    const taskId = await submitGeneration(w, "gen-ended", { quick: true });
    await queueWaiter(w, "gen-waiter");
    await untilSandbox(w, { [taskId]: "SUCCEEDED" });
    const ending = {
      generationId: "gen-ended",
      taskId,
      providerStatus: "SUCCEEDED",
      source: "push" as const,
    };
    const settings = w.dependencies.settings;

    const firstSettle = await settleTaskEnding(ending, { metadataStore: w.store, settings });
    expect(firstSettle).toEqual({
      recorded: true,
      grantedTo: ["gen-waiter"],
      events: [
        {
          id: `task-ended-${taskId}`,
          name: TASK_ENDED,
          data: { generation_id: "gen-ended", task_id: taskId, task_status: "SUCCEEDED", source: "push" },
        },
        expect.objectContaining({ name: SLOT_GRANTED, data: { generation_id: "gen-waiter" } }),
      ],
    });
    const secondSettle = await settleTaskEnding(ending, { metadataStore: w.store, settings });
    expect(secondSettle.recorded).toBe(false);
    expect(secondSettle.grantedTo).toEqual([]);
    // Only the task-ended event again, under the same id (Inngest keeps one of the two).
    expect(secondSettle.events).toEqual([firstSettle.events[0]]);
    // A later, different report does not overwrite the first.
    const conflicting = await settleTaskEnding(
      { ...ending, providerStatus: "FAILED", source: "watcher" },
      { metadataStore: w.store, settings },
    );
    expect(conflicting.recorded).toBe(false);
    expect(await w.store.recordedTaskEnd("gen-ended")).toEqual({ taskId, status: "SUCCEEDED" });
    expect(await slotRows(w)).toEqual([{ holder: "gen-waiter", granted: true, announcements: 1 }]);
    // As the push route does after sending.
    await w.store.markTaskEndsSignalled(["gen-ended"]);
    w.resetCalls();

    // Right after: nothing to announce (the first check sleeps); the run has not moved on after the pause (the
    // signal is backdated while the watcher waits), so it is told again, under an id of its own.
    const pause = recordingSleep(async () => {
      await w.sql.query(
        `UPDATE generations SET task_end_signalled_at = now() - interval '10 seconds' WHERE generation_id = $1`,
        ["gen-ended"],
      );
    });
    const again = await watch(w, "watcher-repeat", { sleep: pause.sleep });
    expect(pause.waits).toEqual([1_000]);
    expect(again).toMatchObject({ state: "watching", endings: 0, providerCalls: 0 });
    expect(taskEnded(again)).toEqual([
      {
        id: `task-ended-${taskId}-1`,
        name: TASK_ENDED,
        data: { generation_id: "gen-ended", task_id: taskId, task_status: "SUCCEEDED", source: "watcher" },
      },
    ]);
    // The ending is known: no provider call, nothing recorded or granted twice.
    expect(w.calls.status).toEqual([]);
    expect(w.calls.list).toEqual([]);
    expect(await slotRows(w)).toEqual([{ holder: "gen-waiter", granted: true, announcements: 1 }]);
    expect((await w.store.watchedTasks()).map((task) => task.endSignals)).toEqual([2]);

    // A grant still not taken after the pause is announced again (and only that: the ending was just told).
    await w.sql.query(
      "UPDATE provider_slots SET announced_at = now() - interval '10 seconds' WHERE holder = $1",
      ["gen-waiter"],
    );
    const regrant = await watch(w, "watcher-repeat");
    expect(regrant).toMatchObject({ state: "watching", endings: 0, providerCalls: 0 });
    expect(regrant.events).toEqual([
      expect.objectContaining({ name: SLOT_GRANTED, data: { generation_id: "gen-waiter" } }),
    ]);
    expect(await slotRows(w)).toEqual([{ holder: "gen-waiter", granted: true, announcements: 2 }]);
  });

  it("stops watching an ending told six times (its run is gone) and ends idle instead of checking forever", async () => {
    world = await startWorld({ budget: 2 });
    const w = world;
    const taskId = await submitGeneration(w, "gen-orphan", { quick: true });
    await untilSandbox(w, { [taskId]: "SUCCEEDED" });
    const first = await watch(w, "watcher-orphan");
    expect(taskEnded(first).map((event) => event.id)).toEqual([`task-ended-${taskId}`]);
    // Five more announcements, each after its pause, and the run never moved on (an in-process run killed).
    await w.sql.query(
      "UPDATE generations SET task_end_signals = 6, task_end_signalled_at = now() - interval '1 hour' WHERE generation_id = $1",
      ["gen-orphan"],
    );
    w.resetCalls();
    const { sleep, waits } = recordingSleep();
    const last = await watch(w, "watcher-orphan", { sleep });
    expect(last).toMatchObject({ state: "idle", events: [] });
    expect(waits).toEqual([]);
    expect(w.calls.status).toEqual([]);
    expect(await w.store.watcherActive()).toBe(false);
    // The record stays as it was, for a rerun of the generation to resume.
    expect(await w.store.get("gen-orphan")).toMatchObject({ status: "submitted", taskId });
  });

  it("lets a run's check take the watcher's SUCCEEDED without a query, and wake a watcher when none is active", async () => {
    world = await startWorld({ budget: 2 });
    const w = world;
    const quickTask = await submitGeneration(w, "gen-quick", { quick: true });
    const slowTask = await submitGeneration(w, "gen-slow", { quick: false });
    await untilSandbox(w, { [quickTask]: "SUCCEEDED", [slowTask]: "RUNNING" });
    const logger = { info() {}, warn() {}, error() {} };
    const check = (generationId: string, taskId: string, dependencies = w.dependencies) =>
      checkTask({
        generationId,
        taskId,
        progress: 0.5,
        dependencies,
        recordProgress: createProgressRecorder(dependencies, logger),
      });

    // No watcher holds the lease and the task is still going: the run checked itself, and wants one woken.
    w.resetCalls();
    const alone = await check("gen-slow", slowTask);
    expect(alone).toMatchObject({ status: "running", providerStatus: "RUNNING", watcherWanted: true });
    expect(w.calls.status).toEqual([slowTask]);
    // Without the watcher setting, nothing is wanted.
    const unwatched = await check("gen-slow", slowTask, {
      ...w.dependencies,
      settings: { ...w.dependencies.settings, taskWatcher: false },
    });
    expect(unwatched.status).toBe("running");
    expect(unwatched.watcherWanted).toBeUndefined();

    // The watcher finds the quick task's ending and records it (it now holds the lease).
    const outcome = await watch(w, "watcher-poll");
    expect(outcome).toMatchObject({ state: "watching", endings: 1 });
    expect(await w.store.recordedTaskEnd("gen-quick")).toEqual({ taskId: quickTask, status: "SUCCEEDED" });

    // The run's check takes the recorded success as it is: no status query.
    w.resetCalls();
    const signalled = await check("gen-quick", quickTask);
    expect(signalled).toMatchObject({ status: "succeeded", providerStatus: "SUCCEEDED" });
    expect(signalled.watcherWanted).toBeUndefined();
    expect(w.calls).toEqual({ start: 0, status: [], list: [], cancel: [] });

    // A watcher is active now: a check of a task still going asks the provider, and wants no other watcher.
    const watched = await check("gen-slow", slowTask);
    expect(watched).toMatchObject({ status: "running" });
    expect(watched.watcherWanted).toBeUndefined();
    expect(w.calls.status).toEqual([slowTask]);

    // Only a recorded SUCCEEDED skips the query: another recorded ending is checked with the provider.
    expect(
      await w.store.recordTaskEnd({ generationId: "gen-slow", taskId: slowTask, providerStatus: "FAILED" }),
    ).toBe(true);
    w.resetCalls();
    expect(await check("gen-slow", slowTask)).toMatchObject({ status: "running" });
    expect(w.calls.status).toEqual([slowTask]);
  });
});

describe("the schedules where a watcher runs", () => {
  const SECOND = 1_000;
  const base: WatchedPollInput = {
    attempt: 0,
    elapsedMs: 0,
    expectedRenderMs: 53 * SECOND,
    deadlineMs: DEFAULT_DEADLINE_MS,
    maxChecks: DEFAULT_MAX_CHECKS,
    slotLeaseMs: 5 * 60 * SECOND,
  };

  /** Every delay of a task that never ends, as `pollUntilDone` adds them up. */
  function walk(input: Omit<WatchedPollInput, "attempt" | "elapsedMs">) {
    const delays: number[] = [];
    let elapsedMs = 0;
    for (let attempt = 0; attempt <= input.maxChecks; attempt++) {
      const delay = watchedPollDelayMs({ ...input, attempt, elapsedMs });
      if (delay === null) break;
      delays.push(delay);
      elapsedMs += delay;
    }
    return { delays, elapsedMs };
  }

  /**
   * The first fallback in units of the expected render: `WATCHED_FIRST_CHECK` in src/functions/poll-schedule.ts (not
   * exported). The brief for this suite said 1.5; the working tree now says 2.5.
   */
  const FIRST = 2.5;

  it("waits 2.5 × the expected render in whole seconds, then doubles, at most half the slot's lease", () => {
    expect(watchedPollDelayMs(base)).toBe(Math.round(FIRST * 53) * SECOND); // 132.5 s, rounded
    expect(watchedPollDelayMs({ ...base, expectedRenderMs: 40 * SECOND })).toBe(FIRST * 40 * SECOND);
    expect(watchedPollDelayMs({ ...base, expectedRenderMs: 7_300 })).toBe(Math.round(FIRST * 7.3) * SECOND);
    // The expected render counts as at least 1 s (a short deadline, so that no even share of it is longer).
    expect(watchedPollDelayMs({ ...base, expectedRenderMs: 10, deadlineMs: 200 * SECOND })).toBe(
      Math.round(FIRST) * SECOND,
    );
    const expected = 12 * SECOND;
    const { delays } = walk({ ...base, expectedRenderMs: expected });
    expect(delays.slice(0, 4)).toEqual([
      FIRST * expected,
      2 * FIRST * expected,
      4 * FIRST * expected,
      150 * SECOND,
    ]);
    for (const delay of delays) {
      expect(delay % SECOND).toBe(0);
      expect(delay).toBeLessThanOrEqual(150 * SECOND);
    }
    expect(watchedPollDelayMs({ ...base, attempt: 10, elapsedMs: 600 * SECOND })).toBe(150 * SECOND);
  });

  it("reaches the deadline within maxChecks, stretching past half the lease only when it must, and stops there", () => {
    for (const expectedRenderMs of [1 * SECOND, 53 * SECOND, 167 * SECOND, 30 * 60 * SECOND]) {
      for (const deadlineMs of [DEFAULT_DEADLINE_MS, 4 * 60 * 60 * SECOND, 24 * 60 * 60 * SECOND]) {
        const { delays, elapsedMs } = walk({ ...base, expectedRenderMs, deadlineMs });
        expect(elapsedMs).toBe(deadlineMs);
        expect(delays.length).toBeLessThanOrEqual(DEFAULT_MAX_CHECKS);
      }
    }
    // A day at 100 checks cannot be covered at 150 s: the intervals stretch evenly.
    const day = walk({ ...base, deadlineMs: 24 * 60 * 60 * SECOND });
    expect(Math.max(...day.delays)).toBeGreaterThan(150 * SECOND);
    // Cut to the deadline, and nothing past it or past the last check.
    expect(watchedPollDelayMs({ ...base, attempt: 20, elapsedMs: DEFAULT_DEADLINE_MS - 7_400 })).toBe(
      7 * SECOND,
    );
    expect(watchedPollDelayMs({ ...base, attempt: 20, elapsedMs: DEFAULT_DEADLINE_MS - 400 })).toBeNull();
    expect(watchedPollDelayMs({ ...base, attempt: 20, elapsedMs: DEFAULT_DEADLINE_MS })).toBeNull();
    expect(
      watchedPollDelayMs({ ...base, attempt: 20, elapsedMs: DEFAULT_DEADLINE_MS + 60 * SECOND }),
    ).toBeNull();
    expect(watchedPollDelayMs({ ...base, attempt: DEFAULT_MAX_CHECKS })).toBeNull();
  });

  it("reaches the deadline with the watched deployment's few checks too (WATCHED_CHECKS.status)", () => {
    // `watchedSettings` caps a watched run at WATCHED_CHECKS.status checks, which its comment says cover any allowed
    // deadline, each check "at least an even share of what is left". A run whose checks end before its deadline
    // takes the `deadline` step: a PENDING task is canceled and the run fails with deadline_exceeded, early.
    const maxChecks = WATCHED_CHECKS.status;
    const cases = [
      { expectedRenderMs: 45 * SECOND, deadlineMs: DEFAULT_DEADLINE_MS }, // the table's 2 s 720P
      { expectedRenderMs: 53 * SECOND, deadlineMs: DEFAULT_DEADLINE_MS }, // the table's 5 s 720P
      { expectedRenderMs: 53 * SECOND, deadlineMs: 4 * 60 * 60 * SECOND }, // VIDEO_GEN_DEADLINE_S=14400
      { expectedRenderMs: 53 * SECOND, deadlineMs: 86_399 * SECOND }, // the largest VIDEO_GEN_DEADLINE_S
      { expectedRenderMs: 5 * SECOND, deadlineMs: DEFAULT_DEADLINE_MS }, // a fast learned or seeded estimate
    ];
    const reached = cases.map((input) => {
      const { delays, elapsedMs } = walk({ ...base, ...input, maxChecks });
      expect(delays.length).toBeLessThanOrEqual(maxChecks);
      return { ...input, lastCheckAtMs: elapsedMs };
    });
    expect(reached).toEqual(cases.map((input) => ({ ...input, lastCheckAtMs: input.deadlineMs })));
  });

  it("falls back after a minute, then 2, 4, 8… minutes up to the cap", () => {
    const { capMs, watched, grantLeaseMs } = slotWaitTimings({
      queueTimeoutMs: 30 * 60 * SECOND,
      maxSlotChecks: 48,
      taskWatcher: true,
    });
    expect(watched).toBe(true);
    expect(capMs).toBe(10 * 60 * SECOND);
    expect(grantLeaseMs).toBe(90 * SECOND);
    expect([0, 1, 2, 3, 4, 5, 50].map((check) => fallbackWaitMs(check, capMs, true))).toEqual([
      60 * SECOND,
      120 * SECOND,
      240 * SECOND,
      480 * SECOND,
      600 * SECOND,
      600 * SECOND,
      600 * SECOND,
    ]);
    expect(fallbackWaitMs(2, 100 * SECOND, true)).toBe(100 * SECOND);
    // Without a watcher the fallback stays short: 5 s, growing by half.
    expect([0, 1, 2].map((check) => fallbackWaitMs(check, 60 * SECOND))).toEqual([5_000, 7_500, 11_250]);
    expect(slotWaitTimings({ queueTimeoutMs: 30 * 60 * SECOND, maxSlotChecks: 48 }).capMs).toBe(75 * SECOND);
  });
});
