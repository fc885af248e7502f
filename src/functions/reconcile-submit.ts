import { setTimeout as delay } from "node:timers/promises";
import { ProviderError } from "../errors/provider-error.ts";
import { StorageError } from "../errors/storage-error.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ProviderTaskPage, ProviderTaskSummary, VideoProvider } from "../providers/provider.ts";

/*
 * What this relies on is only what DashScope documents about its task list (dashscope.md 3.8): without time filters
 * it lists the last 24 h, rows carry `gmt_create` in epoch milliseconds, and pages are counted by `total_page`. It
 * does not rely on the zone of the time filters (none are sent), on a page size (the rows are paged through), on the
 * order of the rows (every page is read and filtered here), or on a task being listed the moment it is created.
 */

/** Tasks created this long before the recorded attempt still count: clock skew between us and the provider. */
export const RECONCILE_CLOCK_SKEW_MS = 60_000;
/** …and this long after it: the submit's own time limit (120 s) plus the same skew. */
export const RECONCILE_CREATION_WINDOW_MS = 180_000;
/** How long a task created at the end of that window may take to appear in the list (undocumented; a bound). */
export const RECONCILE_LISTING_DELAY_MS = 30_000;
/** Beyond this age the attempt's tasks may have left the 24 h list: no listing can prove that none exists. */
export const RECONCILE_HORIZON_MS = 23 * 60 * 60 * 1000;

/** Rows asked for per page; a server may serve fewer (capped) or refuse it (then its default, 10, is used). */
const PAGE_SIZE = 100;
/** Query, cancel and list share 20 QPS per account: the listing takes at most half, the polls keep the rest. */
const MIN_LIST_INTERVAL_MS = 100;
/** A page answered 429 is asked again after these waits; after them the step's own retry takes over. */
const THROTTLED_PAGE_WAITS_MS = [1_000, 2_000, 4_000];
/** More pages than 5 tasks at a time can fill in 24 h at 10 rows a page; a longer list is not plausible. */
const MAX_PAGES = 2_000;

/** How the reconciliation waits between list calls; a timer by default (tests may count the waits). */
export type ReconcileSleep = (milliseconds: number) => Promise<void>;

/**
 * After a submit whose outcome is unknown (timeout, reset, 5xx after the body was sent), finds the task it may have
 * created: among the account's tasks of the last 24 h (every page), those of this model created between
 * `attemptedAt` − 60 s and `attemptedAt` + 180 s (`gmt_create`, epoch ms) that no generation has recorded.
 * - Exactly one → adopted (recorded for this generation) and returned.
 * - Several → a retryable error: other runs may not have recorded theirs yet, so the step looks again later rather
 *   than guess (a wrong guess would steal another run's task; a blind resubmit would bill twice).
 * - None, while a task created in the window could still be missing from the list (until 210 s after the attempt)
 *   → a retryable error (`reconcile_pending`, `retryAfterMs` until then): a step retry is the durable way to wait.
 * - None afterwards → null: nothing was created, submitting is safe.
 * Pages are read at most 10 a second, within the 20 QPS that query, cancel and list share.
 */
export async function reconcileSubmit(input: {
  provider: VideoProvider;
  metadataStore: MetadataStore;
  generationId: string;
  /** When the ambiguous submit was attempted (recorded before its POST). */
  attemptedAt: Date;
  now: Date;
  sleep?: ReconcileSleep;
}): Promise<string | null> {
  const attempted = input.attemptedAt.getTime();
  const now = input.now.getTime();
  if (now - attempted > RECONCILE_HORIZON_MS) {
    throw new ProviderError(
      `cannot reconcile a submit attempted ${Math.round((now - attempted) / 3_600_000)} h ago: DashScope lists only the last 24 h, so a task it created may no longer be listed; not submitting again, which could bill twice`,
      { kind: "task_expired", code: "reconcile_too_late", operation: "list" },
    );
  }

  const tasks = await listRecentTasks(input.provider, input.sleep ?? ((milliseconds) => delay(milliseconds)));
  const earliest = attempted - RECONCILE_CLOCK_SKEW_MS;
  const latest = attempted + RECONCILE_CREATION_WINDOW_MS;
  const inWindow = tasks.filter((task) => {
    const created = Date.parse(task.createdAt);
    const sameModel = task.model === undefined || task.model === input.provider.model;
    return sameModel && created >= earliest && created <= latest;
  });
  const known = await input.metadataStore.knownTaskIds(inWindow.map((task) => task.taskId));
  const candidates = inWindow.filter((task) => !known.has(task.taskId));

  if (candidates.length > 1) {
    throw new ProviderError(
      `cannot tell which of ${candidates.length} unrecorded tasks the ambiguous submit created; checking again before any resubmission`,
      { kind: "transient", code: "reconcile_ambiguous", operation: "list" },
    );
  }
  const candidate = candidates[0];
  if (candidate) return adopt(input.metadataStore, input.generationId, candidate.taskId);

  const settledAt = latest + RECONCILE_LISTING_DELAY_MS;
  if (now < settledAt) {
    throw new ProviderError(
      `no task of the ambiguous submit is listed yet; a task created up to ${RECONCILE_CREATION_WINDOW_MS / 1000} s after the attempt may take up to ${RECONCILE_LISTING_DELAY_MS / 1000} s to be listed, so looking again in ${Math.ceil((settledAt - now) / 1000)} s before any resubmission`,
      { kind: "transient", code: "reconcile_pending", operation: "list", retryAfterMs: settledAt - now },
    );
  }
  return null;
}

/** Records the adopted task; another generation adopting it first makes the situation ambiguous again, not fatal. */
async function adopt(metadataStore: MetadataStore, generationId: string, taskId: string): Promise<string> {
  try {
    await metadataStore.recordSubmitted(generationId, { taskId });
  } catch (error) {
    if (error instanceof StorageError && error.code === "task_already_recorded") {
      throw new ProviderError(
        "another generation recorded the only unrecorded task first; checking again before any resubmission",
        { kind: "transient", code: "reconcile_ambiguous", operation: "list", cause: error },
      );
    }
    throw error;
  }
  return taskId;
}

/**
 * Every task the list holds, read page by page until `total_page` (or an empty page, or a page with nothing new when
 * the server gives no page count), deduplicated by id: rows shift between pages while tasks are created.
 */
async function listRecentTasks(
  provider: VideoProvider,
  sleep: ReconcileSleep,
): Promise<ProviderTaskSummary[]> {
  const seen = new Map<string, ProviderTaskSummary>();
  const pace = createPacer(sleep);
  let pageSize: number | undefined = PAGE_SIZE;
  for (let pageNo = 1; ; pageNo++) {
    if (pageNo > MAX_PAGES) {
      throw new ProviderError(`DashScope's task list has more than ${MAX_PAGES} pages; cannot reconcile`, {
        kind: "invalid_response",
        code: "reconcile_list_too_long",
        operation: "list",
      });
    }
    let page: ProviderTaskPage;
    try {
      page = await listPage(provider, { pageNo, pageSize }, pace, sleep);
    } catch (error) {
      // A server may refuse a page size over its (undocumented) maximum: fall back to its default.
      if (!(pageNo === 1 && pageSize !== undefined && isRefusal(error))) throw error;
      pageSize = undefined;
      page = await listPage(provider, { pageNo, pageSize }, pace, sleep);
    }
    const before = seen.size;
    for (const task of page.tasks) seen.set(task.taskId, task);
    if (page.tasks.length === 0) break;
    if (page.totalPages !== undefined ? pageNo >= page.totalPages : seen.size === before) break;
  }
  return [...seen.values()];
}

/** One page, paced, with a few short waits when it is throttled. */
async function listPage(
  provider: VideoProvider,
  query: { pageNo: number; pageSize: number | undefined },
  pace: () => Promise<void>,
  sleep: ReconcileSleep,
): Promise<ProviderTaskPage> {
  for (let attempt = 0; ; attempt++) {
    await pace();
    try {
      return await provider.listTasks(
        query.pageSize === undefined
          ? { pageNo: query.pageNo }
          : { pageNo: query.pageNo, pageSize: query.pageSize },
      );
    } catch (error) {
      const wait = THROTTLED_PAGE_WAITS_MS[attempt];
      if (!(error instanceof ProviderError && error.kind === "throttled") || wait === undefined) throw error;
      await sleep(Math.max(wait, error.retryAfterMs ?? 0));
    }
  }
}

/** Spaces calls at least `MIN_LIST_INTERVAL_MS` apart, in real time. */
function createPacer(sleep: ReconcileSleep): () => Promise<void> {
  let last: number | undefined;
  return async () => {
    const wait = last === undefined ? 0 : last + MIN_LIST_INTERVAL_MS - performance.now();
    if (wait > 0) await sleep(wait);
    last = performance.now();
  };
}

function isRefusal(error: unknown): boolean {
  return error instanceof ProviderError && error.kind === "rejected" && error.httpStatus === 400;
}
