import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { CacheMode } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type { WanResolution } from "../contract/wan-model.ts";
import type {
  ClaimResult,
  GenerationRecord,
  GenerationStage,
  GenerationStatus,
  ListFilter,
  RecordedRender,
  SlotHandOver,
  SlotOptions,
  SlotRequest,
  SubmitState,
  SubmittedTaskFacts,
  Totals,
} from "./generation-record.ts";
import type { WatchedTask } from "./task-watch.ts";

/** What `upsertGeneration` did to the record (see there). */
export type GenerationUpsert = "created" | "restarted" | "refreshed";

/**
 * The stage's state in PostgreSQL (or the embedded PGlite): generation records, the cache-key claims and the
 * account-wide provider budget. Every operation is one short transaction, safe to repeat (step retries call them
 * again), and safe under concurrency across processes.
 */
export interface MetadataStore {
  /** Applies pending migrations (versioned, idempotent). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /**
   * Creates the record at validation, or refreshes it on a replay of the same run (status and progress stay). A new
   * run (another run id) of a generation that failed or was canceled, or a `refresh`/`bypass` run of a succeeded one,
   * starts it afresh: status `pending`, task and result forgotten. Returns what happened to the record: `created`,
   * `restarted` (a new run started an ended one afresh) or `refreshed` (a repeat: a step retry, a replay, a second
   * worker); exactly one caller sees `created` or `restarted` per start, whichever process it runs in (metrics count it).
   */
  upsertGeneration(input: {
    generationId: string;
    request: Record<string, unknown>;
    cacheMode: CacheMode;
    provider: string;
    model: string;
    correlation: Record<string, unknown> | null;
    runId: string | null;
  }): Promise<GenerationUpsert>;

  /**
   * Records a generation that ended before its run wrote a record: a request refused by validation, or a run
   * canceled while it was still queued. The record is created terminal. An existing record is left untouched
   * unless it, too, ended without a result in another run (a run in flight or a succeeded generation under the same
   * id must not be overwritten by a bad or canceled duplicate). Returns whether a record was written.
   */
  recordEarlyEnding(input: {
    generationId: string;
    request: Record<string, unknown>;
    correlation: Record<string, unknown> | null;
    runId: string | null;
    provider: string;
    model: string;
    ending: { status: "failed" | "canceled"; code: string; message: string };
  }): Promise<boolean>;

  /** The newest succeeded, cacheable (not `bypass`) record with this cache key. */
  findSucceededByCacheKey(cacheKey: string): Promise<GenerationRecord | null>;

  /**
   * Makes this generation the one active generation for `cacheKey`, or attaches it to the generation that already
   * is. Atomic across processes. For `bypass`, always claims (bypass neither shares nor is shared).
   */
  claim(input: {
    generationId: string;
    cacheKey: string;
    imageSha256: string;
    warnings: GenerationWarning[];
  }): Promise<ClaimResult>;

  /**
   * Asks for a slot of the account-wide in-flight budget for `holder` (a generation id). Granted when the holder
   * already has one (renewed: a slot handed over to it is taken here), or when fewer than `limit` unexpired leases
   * exist and no older waiter is still owed a slot. Otherwise the holder joins (or stays in) the queue of waiters,
   * oldest first, and learns its place. Expired leases and waiters not seen for `staleWaiterMs` are dropped first.
   */
  acquireSlot(holder: string, options: SlotOptions): Promise<SlotRequest>;
  /**
   * Extends the holder's lease (no-op without one) and tells how many generations are queued for a slot: the poll
   * schedule checks densely while someone waits for this holder's slot.
   */
  renewSlot(holder: string, leaseMs: number): Promise<{ waiting: number }>;
  /**
   * Frees the holder's slot (and its place in the queue, if it was waiting), then hands every slot now free to the
   * oldest waiters, each as a granted slot leased for `handOver.grantLeaseMs`. Returns those waiters, whom the caller
   * wakes (`video/generation.slot-granted`). No-op for a holder with neither slot nor place.
   */
  releaseSlot(holder: string, handOver?: SlotHandOver): Promise<{ grantedTo: string[] }>;
  /**
   * Extends the leases of these holders' slots (the task watcher, for every task it saw still going); leases that
   * ran out and slots not yet taken stay as they are.
   */
  renewSlots(holders: readonly string[], leaseMs: number): Promise<void>;
  /**
   * The grants whose waiters have not taken their slot `unansweredMs` after the last announcement, at most
   * `maxAnnouncements` announcements each: marks them announced again and returns them with the announcement's
   * number (1 is the release's own), for the task watcher to wake those waiters once more.
   */
  grantsToAnnounce(input: {
    unansweredMs: number;
    maxAnnouncements: number;
  }): Promise<Array<{ generationId: string; announcement: number }>>;
  /**
   * Takes (or renews) the task watcher's lease for `holder` (a watcher run's id) when nobody else holds it, it ran
   * out, or it is held by `successorOf` (the watcher this one continues). Returns whether `holder` holds it now.
   */
  takeWatcherLease(holder: string, input: { leaseMs: number; successorOf?: string }): Promise<boolean>;
  /**
   * Lets go of the watcher's lease when `holder` holds it, and with `onlyIfIdle` only when no submitted task is
   * watched and no granted slot waits for its waiter, in one transaction with that check. Returns whether it did.
   */
  releaseWatcherLease(holder: string, input: { onlyIfIdle: boolean }): Promise<boolean>;
  /** Whether a watcher holds an unexpired lease (serialised with `releaseWatcherLease`). */
  watcherActive(): Promise<boolean>;
  /** The submitted generations that have a provider task, oldest submit first. */
  watchedTasks(): Promise<WatchedTask[]>;
  /**
   * Records the provider's ending of a submitted task as the watcher or the push learned it (once: the first
   * report wins). Returns whether this call recorded it.
   */
  recordTaskEnd(input: { generationId: string; taskId: string; providerStatus: string }): Promise<boolean>;
  /** The ending recorded by `recordTaskEnd` for this generation's current task, or null. */
  recordedTaskEnd(generationId: string): Promise<{ taskId: string; status: string } | null>;
  /** Counts one more announcement of these generations' task endings to their runs. */
  markTaskEndsSignalled(generationIds: readonly string[]): Promise<void>;
  /** Number of unexpired leases (granted slots included). */
  countSlots(): Promise<number>;

  /** Records that a submit is about to be sent; returns the state the previous attempt left. */
  beginSubmit(
    generationId: string,
  ): Promise<{ previousState: SubmitState; previousAttemptAt: string | null }>;
  /** The previous submit was definitively refused (4xx, 429): no task was created. */
  recordSubmitRejected(generationId: string): Promise<void>;
  /**
   * Records the task id (status `submitted`). Fails with a StorageError (code `task_already_recorded`) when another
   * generation already recorded this task id, which keeps two reconciling runs from adopting the same task.
   */
  recordSubmitted(generationId: string, input: SubmittedTaskFacts): Promise<void>;
  /** Which of these task ids some generation already recorded. */
  knownTaskIds(taskIds: string[]): Promise<Set<string>>;

  /** Updates status/stage/provider status for progress displays. */
  recordProgress(
    generationId: string,
    input: { stage: GenerationStage; status?: GenerationStatus; providerStatus?: string },
  ): Promise<void>;
  /**
   * The terminal updates. Each returns whether this call ended the record: `false` when it had already ended (a step
   * retry, a replay, another worker first), so that exactly one caller counts each ending.
   */
  recordSucceeded(generationId: string, response: VideoGenerateResponse): Promise<boolean>;
  recordFailed(generationId: string, input: { code: string; message: string }): Promise<boolean>;
  recordCanceled(generationId: string, input: { reason: string }): Promise<boolean>;

  /**
   * Records the object key of the generation's poster (`null` forgets it). Any status: the backfill adds posters
   * to records that ended long ago. Fails with `generation_not_found` for an unknown id.
   */
  recordPoster(generationId: string, posterKey: string | null): Promise<void>;
  /** Records the object key of the stored copy of the reference image (`images/<sha256>.<ext>`). Any status. */
  recordImageKey(generationId: string, imageKey: string): Promise<void>;
  /**
   * Records that lack a medium, newest first, for `video-gen posters --backfill`: `poster`, succeeded records
   * without a poster key; `image`, records with an image hash but no image key. `before` continues after the last
   * record of the previous page (keyset: its `createdAt` and `generationId`).
   */
  listMissingMedia(input: {
    missing: "poster" | "image";
    limit: number;
    before?: { createdAt: string; generationId: string };
  }): Promise<GenerationRecord[]>;

  /**
   * The most recent renders this deployment finished at `resolution` (succeeded, not answered from the cache, with
   * provider times), newest first: what the poll schedule learns its expected render time from.
   */
  recentRenders(input: { resolution: WanResolution; limit: number }): Promise<RecordedRender[]>;

  get(generationId: string): Promise<GenerationRecord | null>;
  list(filter?: ListFilter): Promise<GenerationRecord[]>;
  totals(filter?: { since?: Date }): Promise<Totals>;
}
