import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { StorageError } from "../errors/storage-error.ts";
import {
  EMBEDDED_LOCK_RETRIES,
  EMBEDDED_LOCK_RETRY_INTERVAL_MS,
  type EmbeddedDatabase,
  type EmbeddedDatabaseOptions,
  openEmbeddedDatabase,
} from "./embedded-database.ts";
import type { SqlClient } from "./sql-client.ts";

/** The code of {@link EmbeddedDatabaseBusyError}. */
export const EMBEDDED_DATABASE_BUSY = "embedded_database_busy";

/**
 * Another process (a `video-gen generate`, `replay`, `serve`, …) holds the embedded database, so a reader that opens
 * it on demand cannot read now. Retryable: the reader gets it again once that process closes it.
 */
export class EmbeddedDatabaseBusyError extends StorageError {
  override name = "EmbeddedDatabaseBusyError";

  constructor(cause?: unknown) {
    super(
      "The embedded metadata database is in use by another process: a `video-gen generate` (or another video-gen " +
        "command) holds it while it runs, and it is read again as soon as that process ends. For a live view while " +
        "generations run, set DATABASE_URL to a PostgreSQL server that every command uses.",
      { code: EMBEDDED_DATABASE_BUSY, retryable: true, cause },
    );
  }
}

/** Whether `error` says the embedded database is held by another process (show a banner, try again later). */
export function isEmbeddedDatabaseBusy(error: unknown): error is EmbeddedDatabaseBusyError {
  return error instanceof StorageError && error.code === EMBEDDED_DATABASE_BUSY;
}

/** How long an opener waits for another process's lock in all, in ms (about 12 s). */
const LOCK_WAIT_WINDOW_MS = EMBEDDED_LOCK_RETRIES * EMBEDDED_LOCK_RETRY_INTERVAL_MS;

const optionsSchema = z
  .object({
    dataDir: z.string().min(1),
    idleCloseMs: z.number().int().positive().default(1_000),
    // At most half the window another process waits for the lock: room for a slow last query and its next retry.
    maxHoldMs: z
      .number()
      .int()
      .positive()
      .max(LOCK_WAIT_WINDOW_MS / 2)
      .default(4_000),
    // Longer than the waiting process's retry interval, so one of its retries falls inside the pause.
    reopenPauseMs: z
      .number()
      .int()
      .min(EMBEDDED_LOCK_RETRY_INTERVAL_MS + 250)
      .default(2_000),
  })
  .refine((options) => options.idleCloseMs <= options.maxHoldMs, {
    message: "idleCloseMs must not exceed maxHoldMs",
  });

/** Options of {@link openEmbeddedDatabaseOnDemand}. */
export interface EmbeddedDatabaseOnDemandOptions {
  /** Directory of the database files (the default layout puts it at `OUTPUT_DIR/metadata`), created if missing. */
  dataDir: string;
  /** Close the database (and release its lock) after this long without a query, in ms. Default 1000. */
  idleCloseMs?: number;
  /**
   * Close it after holding it this long even while queries keep coming, in ms; queries then wait for the reopen.
   * Default 4000, at most 6000 (half the ~12 s another process waits for the lock).
   */
  maxHoldMs?: number;
  /**
   * After each close, do not reopen for this long, in ms, so a process waiting for the lock (it tries every second)
   * takes it. Default 2000, at least 1250.
   */
  reopenPauseMs?: number;
  /** Opens the database without waiting for the lock. Default {@link openEmbeddedDatabase}; injected in tests. */
  open?: (options: EmbeddedDatabaseOptions) => Promise<EmbeddedDatabase>;
  /** Told when the database is opened and closed (e.g. for a debug log); `heldMs` is how long it was held. */
  onChange?: (change: { event: "opened"; openMs: number } | { event: "closed"; heldMs: number }) => void;
}

/** The embedded database, opened only while queried (see {@link openEmbeddedDatabaseOnDemand}). */
export interface EmbeddedDatabaseOnDemand {
  /**
   * An ordinary SqlClient: each query or transaction opens the database when it is closed, and fails with
   * {@link EmbeddedDatabaseBusyError} while another process holds it. `close()` closes it for good.
   */
  sql: SqlClient;
  /** Whether this process holds the database (and its lock) right now. */
  isOpen(): boolean;
  /** Waits for running queries, closes the database and releases the lock; later queries fail. Idempotent. */
  close(): Promise<void>;
}

/** One period during which this process holds the database. */
interface Holding {
  database: EmbeddedDatabase;
  openedAt: number;
  /** Queries and transactions running on it. */
  active: number;
  /** No new query may start on it; it closes when the running ones end. */
  draining: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  holdTimer: NodeJS.Timeout;
  /** Resolves once it is closed and the lock released. */
  ended: Promise<void>;
  end(): void;
}

/**
 * The embedded (PGlite) database for a reader that must not lock other commands out of it, such as the gallery of
 * `video-gen ui`: the database is opened (taking the directory lock, without waiting for it) only when a query comes,
 * and closed again, releasing the lock, after `idleCloseMs` without queries or after `maxHoldMs` in any case; after
 * a close it is not reopened for `reopenPauseMs`. A `video-gen generate` started meanwhile waits for the lock for
 * about 12 s, retrying every second, so it always gets it: within `maxHoldMs` plus the running query. While another
 * process holds it, queries fail at once with {@link EmbeddedDatabaseBusyError}.
 *
 * Reopening an existing small database takes a few hundred ms (PGlite starts its WebAssembly Postgres each time);
 * the first query after a close pays it.
 */
export function openEmbeddedDatabaseOnDemand(
  options: EmbeddedDatabaseOnDemandOptions,
): EmbeddedDatabaseOnDemand {
  const settings = optionsSchema.parse({
    dataDir: options.dataDir,
    idleCloseMs: options.idleCloseMs,
    maxHoldMs: options.maxHoldMs,
    reopenPauseMs: options.reopenPauseMs,
  });
  const open = options.open ?? openEmbeddedDatabase;
  let holding: Holding | undefined;
  let opening: Promise<void> | undefined;
  let reopenAt = 0;
  let closed = false;

  const closedError = () =>
    new StorageError("the on-demand embedded database was closed", {
      code: "database_closed",
      retryable: false,
    });

  const finish = (current: Holding) => {
    clearTimeout(current.idleTimer);
    clearTimeout(current.holdTimer);
    void current.database
      .close()
      .catch(() => {})
      .finally(() => {
        reopenAt = Date.now() + settings.reopenPauseMs;
        if (holding === current) holding = undefined;
        options.onChange?.({ event: "closed", heldMs: Date.now() - current.openedAt });
        current.end();
      });
  };

  const drain = (current: Holding) => {
    if (current.draining) return;
    current.draining = true;
    if (current.active === 0) finish(current);
  };

  const openNow = async () => {
    const pause = reopenAt - Date.now();
    if (pause > 0) await delay(pause);
    if (closed) throw closedError();
    const started = Date.now();
    let database: EmbeddedDatabase;
    try {
      database = await open({ dataDir: settings.dataDir, waitForLock: false });
    } catch (error) {
      if ((error as { code?: unknown }).code === "embedded_database_locked") {
        throw new EmbeddedDatabaseBusyError(error);
      }
      throw error;
    }
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const openMs = Date.now() - started;
    const current: Holding = {
      database,
      // The lock was taken when the open began: the hold counts from there.
      openedAt: started,
      active: 0,
      draining: false,
      idleTimer: undefined,
      holdTimer: setTimeout(() => drain(current), Math.max(0, settings.maxHoldMs - openMs)),
      ended,
      end,
    };
    holding = current;
    options.onChange?.({ event: "opened", openMs });
    // Closed by close() while opening: let go at once.
    if (closed) drain(current);
  };

  /** The open database for one more query: opens it when closed, waits while it closes or reopens. */
  const acquire = async (): Promise<Holding> => {
    for (;;) {
      if (closed) throw closedError();
      const current = holding;
      if (current && !current.draining) {
        clearTimeout(current.idleTimer);
        current.idleTimer = undefined;
        current.active += 1;
        return current;
      }
      if (current) {
        await current.ended;
        continue;
      }
      opening ??= openNow().finally(() => {
        opening = undefined;
      });
      await opening;
    }
  };

  const release = (current: Holding) => {
    current.active -= 1;
    if (current.active > 0) return;
    if (current.draining) finish(current);
    else current.idleTimer = setTimeout(() => drain(current), settings.idleCloseMs);
  };

  const withDatabase = async <T>(use: (sql: SqlClient) => Promise<T>): Promise<T> => {
    const current = await acquire();
    try {
      return await use(current.database.sql);
    } finally {
      release(current);
    }
  };

  const close = async () => {
    closed = true;
    await opening?.catch(() => {});
    const current = holding;
    if (!current) return;
    drain(current);
    await current.ended;
  };

  return {
    sql: {
      query<T>(text: string, params?: readonly unknown[]) {
        return withDatabase((sql) => sql.query<T>(text, params));
      },
      transaction: (fn) => withDatabase((sql) => sql.transaction(fn)),
      close,
    },
    isOpen: () => holding !== undefined,
    close,
  };
}
