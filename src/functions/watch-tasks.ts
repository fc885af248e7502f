import { MAX_TASK_END_SIGNALS, type WatchedTask } from "../metadata/task-watch.ts";
import type { ProviderTaskStatus, VideoProvider } from "../providers/provider.ts";
import { settleTaskEnding, taskEndedEvent } from "./settle-task-ending.ts";
import type { StageEvent } from "./stage-context.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { slotGrantedEvents } from "./video-generation-events.ts";
import { createWatchedProgress } from "./watched-progress.ts";

/** How often the watcher checks where nothing says otherwise, ms. */
export const DEFAULT_WATCH_INTERVAL_MS = 1_000;
/**
 * How long one `watch-N` step keeps checking before it returns, ms: 10 s, or one interval when that is longer. The
 * step ends one interval after its last check, and the next step checks first thing.
 */
export function watchWindowMs(intervalMs: number): number {
  return Math.max(10_000, intervalMs);
}
/**
 * The watcher's lease, renewed at every check: the longest gap between two checks (a window) and a margin for a
 * step's retry; a dead watcher is replaced after it.
 */
export function watcherLeaseMs(intervalMs: number): number {
  return watchWindowMs(intervalMs) + 30_000;
}

/** The wait before the next check: the interval, stretched after provider errors, never past a window. */
function nextCheckInMs(intervalMs: number, backoff: number): number {
  return Math.min(intervalMs * backoff, watchWindowMs(intervalMs));
}
/** A run told of its task's ending is told again when it has not moved on after 3 s, 6 s, 12 s…, at most 6 times. */
const RESIGNAL_FIRST_MS = 3_000;
const MAX_SIGNALS = MAX_TASK_END_SIGNALS;
/** Page size asked of the task list: its documented default, which any server honours (dashscope.md 3.8). */
const LIST_PAGE_SIZE = 10;
/** Pages read per check at most: more tasks RUNNING than this covers are checked one by one. */
const MAX_LIST_PAGES = 5;

/** What one `watch-N` step did. */
export type WatchOutcome =
  /** Endings and grants to announce (the `signal-N` step sends them); the watcher goes on. */
  | { state: "watching"; events: StageEvent[]; endings: number; providerCalls: number }
  /** Nothing in flight and no grant unanswered: the lease was let go, the watcher ends. */
  | { state: "idle"; events: []; endings: 0; providerCalls: number }
  /** Another watcher holds the lease: this one ends without doing anything. */
  | { state: "lease-held"; events: []; endings: 0; providerCalls: number };

/** Waits `ms` (real time by default; tests inject their own). */
export type WatchSleep = (ms: number) => Promise<void>;

/**
 * Step `watch-<n>` of the task watcher: for up to one window (`watchWindowMs`), checks every `watchIntervalMs`
 * whether a task in flight has ended, and returns as soon as there is something to announce:
 * - endings: with one task in flight, one status query; with more, one task-list call for the RUNNING ones (paged)
 *   and a status query for each older watched task the list does not show (see `findEndings`). Each ending goes
 *   through {@link settleTaskEnding}: recorded, its slot freed and handed to the oldest waiter;
 * - endings a run has not acted on (it missed the signal, or the push recorded it) and grants a waiter has not taken:
 *   announced again;
 * - the leases of tasks still going are renewed, so runs need not check just to keep their slots, and their
 *   estimated progress is published to the realtime channel (see `createWatchedProgress`).
 * A provider error skips that check (the next comes at twice the interval, up to 8 times, never past a window);
 * database errors fail the step, which Inngest retries. Safe to repeat and to overlap: every change is conditional
 * (see `settleTaskEnding`).
 */
export async function watchTasks(input: {
  /** The watcher's run id: the lease's holder. */
  holder: string;
  /** The watcher this one continues, whose lease it may take over at once. */
  successorOf?: string;
  dependencies: Pick<
    VideoGenerateDependencies,
    "provider" | "metadataStore" | "settings" | "publishProgress"
  >;
  sleep?: WatchSleep;
  logger?: { warn(message: string, fields?: Record<string, unknown>): void };
}): Promise<WatchOutcome> {
  const { holder, dependencies } = input;
  const { metadataStore: store, settings } = dependencies;
  const sleep = input.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const intervalMs = settings.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
  const windowEndsAt = performance.now() + watchWindowMs(intervalMs);
  const leaseMs = watcherLeaseMs(intervalMs);
  const publishProgress = createWatchedProgress(dependencies);
  let providerCalls = 0;
  let backoff = 1;
  for (;;) {
    if (!(await store.takeWatcherLease(holder, { leaseMs, successorOf: input.successorOf }))) {
      return { state: "lease-held", events: [], endings: 0, providerCalls };
    }
    const watched = await store.watchedTasks();
    const events: StageEvent[] = [];
    const signalled: string[] = [];
    for (const task of watched) {
      if (task.endStatus === null || !resignalDue(task)) continue;
      events.push(
        taskEndedEvent({ ...task, providerStatus: task.endStatus, source: "watcher" }, task.endSignals),
      );
      signalled.push(task.generationId);
    }
    const running = watched.filter((task) => task.endStatus === null);
    let endings = 0;
    if (running.length > 0) {
      const checked = await findEndings(dependencies.provider, running, intervalMs).catch(
        (error: unknown) => {
          input.logger?.warn("the task watcher's check failed; it checks again", {
            error: error instanceof Error ? error.message : String(error),
          });
          return null;
        },
      );
      if (checked) {
        providerCalls += checked.calls;
        backoff = 1;
        for (const ended of checked.ended) {
          const settled = await settleTaskEnding(
            { ...ended, source: "watcher" },
            { metadataStore: store, settings },
          );
          events.push(...settled.events);
          signalled.push(ended.generationId);
          endings++;
        }
        const endedIds = new Set(checked.ended.map((ended) => ended.generationId));
        const stillRunning = running.filter((task) => !endedIds.has(task.generationId));
        await store.renewSlots(
          stillRunning.map((task) => task.generationId),
          settings.slotLeaseMs,
        );
        await publishProgress(stillRunning);
      } else {
        backoff = Math.min(backoff * 2, 8);
      }
    }
    const unanswered = await store.grantsToAnnounce({
      unansweredMs: RESIGNAL_FIRST_MS,
      maxAnnouncements: MAX_SIGNALS,
    });
    events.push(...slotGrantedEvents(unanswered.map((grant) => grant.generationId)));
    if (events.length > 0) {
      await store.markTaskEndsSignalled(signalled);
      return { state: "watching", events, endings, providerCalls };
    }
    // Endings told as often as allowed belong to runs that are gone: nothing left to do for them.
    const idle = watched.every((task) => task.endStatus !== null && task.endSignals >= MAX_SIGNALS);
    if (idle && (await store.releaseWatcherLease(holder, { onlyIfIdle: true }))) {
      return { state: "idle", events: [], endings: 0, providerCalls };
    }
    // The next check comes one interval later, in this step or, past the window, first thing in the next.
    await sleep(nextCheckInMs(intervalMs, backoff));
    if (performance.now() >= windowEndsAt) return { state: "watching", events, endings, providerCalls };
  }
}

/** Whether a run that was told of its task's ending (or never was) should be told (again) now. */
function resignalDue(task: WatchedTask): boolean {
  if (task.endSignals === 0 || task.sinceSignalMs === null) return true;
  if (task.endSignals >= MAX_SIGNALS) return false;
  return task.sinceSignalMs >= RESIGNAL_FIRST_MS * 2 ** (task.endSignals - 1);
}

/** A watched task the provider reports ended. */
interface FoundEnding {
  generationId: string;
  taskId: string;
  providerStatus: string;
}

/**
 * The watched tasks that have ended, and the provider calls it took: a single status query for one task; otherwise
 * the RUNNING page(s) of the task list, and a status query for each task the list does not show as RUNNING and that
 * was submitted at least one interval ago (a younger one is PENDING or not listed yet far more often than it has
 * ended; the next check asks).
 */
async function findEndings(
  provider: VideoProvider,
  running: WatchedTask[],
  intervalMs: number,
): Promise<{ ended: FoundEnding[]; calls: number }> {
  let calls = 0;
  let unlisted = running;
  if (running.length > 1) {
    const listed = new Set<string>();
    for (let pageNo = 1; pageNo <= MAX_LIST_PAGES; pageNo++) {
      const page = await provider.listTasks({ pageNo, pageSize: LIST_PAGE_SIZE, status: "RUNNING" });
      calls++;
      for (const task of page.tasks) if (task.status === "RUNNING") listed.add(task.taskId);
      if (page.tasks.length === 0 || pageNo >= (page.totalPages ?? 1)) break;
    }
    unlisted = running.filter((task) => !listed.has(task.taskId) && task.ageMs >= intervalMs);
  }
  const ended: FoundEnding[] = [];
  for (const task of unlisted) {
    const status = await provider.status(task.taskId);
    calls++;
    if (isEnded(status))
      ended.push({
        generationId: task.generationId,
        taskId: task.taskId,
        providerStatus: providerStatusOf(status),
      });
  }
  return { ended, calls };
}

function isEnded(status: ProviderTaskStatus): boolean {
  return status.status !== "pending" && status.status !== "running";
}

function providerStatusOf(status: ProviderTaskStatus): string {
  return "providerStatus" in status && typeof status.providerStatus === "string"
    ? status.providerStatus
    : status.status.toUpperCase();
}
