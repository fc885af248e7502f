import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import lockfile from "proper-lockfile";
import { ConfigurationError } from "../errors/configuration-error.ts";
import { createPgliteSqlClient, type SqlClient } from "./sql-client.ts";

/** A lock not refreshed for this long belongs to a dead process and is taken over, in ms. */
const LOCK_STALE_MS = 10_000;
/** How often the owner refreshes its lock, in ms (well inside the stale time, even with a busy event loop). */
const LOCK_UPDATE_MS = 2_000;
/** While the directory is locked, an opening process tries again this often, in ms... */
export const EMBEDDED_LOCK_RETRY_INTERVAL_MS = 1_000;
/** ...this many times (past the stale time, so a killed owner's lock is taken over): about 12 s in all. */
export const EMBEDDED_LOCK_RETRIES = Math.ceil((LOCK_STALE_MS + 2_000) / EMBEDDED_LOCK_RETRY_INTERVAL_MS);

/** Options of {@link openEmbeddedDatabase}. */
export interface EmbeddedDatabaseOptions {
  /** Directory of the database files, created if missing (the default layout puts it at `OUTPUT_DIR/metadata`). */
  dataDir: string;
  /**
   * Wait for another process's lock to go (about 12 s, see EMBEDDED_LOCK_RETRIES). Default true; false fails at once
   * with `embedded_database_locked` (the on-demand opener, which must never make a waiting `generate` wait longer).
   */
  waitForLock?: boolean;
}

/** An open embedded database, owned by this process until closed. */
export interface EmbeddedDatabase {
  /** The connection; its `close()` closes the whole database like {@link EmbeddedDatabase.close}. */
  sql: SqlClient;
  /** Closes the database and releases the directory lock. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens (creating on first use) a file-backed PGlite database in `dataDir`, for local runs without a PostgreSQL
 * server. PGlite has no cross-process locking and silently loses writes when two processes share a directory, so
 * the directory is locked (`<dataDir>.lock`, refreshed while open, taken over once stale after a crash); a second
 * process gets a ConfigurationError. First open takes about 2 s and several hundred MB of memory.
 */
export async function openEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });

  let db: PGlite | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      // A lock left by a killed process goes stale after LOCK_STALE_MS: wait that long before calling it taken, so
      // rerunning a command right after killing it works.
      retries:
        options.waitForLock === false
          ? 0
          : {
              retries: EMBEDDED_LOCK_RETRIES,
              minTimeout: EMBEDDED_LOCK_RETRY_INTERVAL_MS,
              maxTimeout: EMBEDDED_LOCK_RETRY_INTERVAL_MS,
              factor: 1,
            },
      // Another process took the directory over (this one stalled past the stale time): stop writing to it at once.
      onCompromised: () => void db?.close().catch(() => {}),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ELOCKED") throw error;
    throw new ConfigurationError(
      `Another process uses the embedded metadata database at ${dataDir}. Stop that process, or set DATABASE_URL to a ` +
        `PostgreSQL server for shared use. (A lock left by a killed process expires after ${LOCK_STALE_MS / 1000} s.)`,
      { code: "embedded_database_locked", cause: error },
    );
  }

  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    await release().catch(() => {});
    throw error;
  }

  const client = createPgliteSqlClient(db);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= client.close().finally(() => release().catch(() => {}));
    return closing;
  };
  return {
    sql: { query: client.query, transaction: client.transaction, close },
    close,
  };
}
