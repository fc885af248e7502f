import type { WanResolution } from "../contract/wan-model.ts";
import { guard } from "./database-error.ts";
import type { MetadataStore } from "./metadata-store.ts";
import type { SqlClient } from "./sql-client.ts";

/** A submitted generation whose provider task the watcher keeps an eye on. */
export interface WatchedTask {
  generationId: string;
  taskId: string;
  /** When the task was submitted, ISO 8601. */
  submittedAt: string;
  /** Milliseconds since the submit, by the database's clock. */
  ageMs: number;
  /** What was submitted (for the expected render time); null in records submitted before they were kept. */
  resolution: WanResolution | null;
  durationSeconds: number | null;
  /** The provider's ending as the watcher or the push learned it (SUCCEEDED, FAILED…); null while it runs. */
  endStatus: string | null;
  /** How often the run was told of the ending so far. */
  endSignals: number;
  /** Milliseconds since the run was last told; null when never. */
  sinceSignalMs: number | null;
}

/**
 * How often a run is told of its task's ending at most. A generation still `submitted` after that has a run that is
 * gone without its clean-up (an in-process run killed on a shared database): the watcher stops watching it, and a
 * rerun of the generation resumes it.
 */
export const MAX_TASK_END_SIGNALS = 6;

/** The metadata store's part for the account-wide task watcher: its lease, the watched set, the endings learned. */
export type TaskWatch = Pick<
  MetadataStore,
  | "takeWatcherLease"
  | "releaseWatcherLease"
  | "watcherActive"
  | "watchedTasks"
  | "recordTaskEnd"
  | "recordedTaskEnd"
  | "markTaskEndsSignalled"
>;

/**
 * The watcher's state on PostgreSQL (or PGlite). The lease row serialises the two decisions that must not cross: a
 * watcher that finds nothing to watch lets go of the lease in the same transaction that saw the set empty, and a run
 * that has just recorded its task asks whether a watcher holds the lease under the same row lock, so that either the
 * watcher sees the new task or the run sees no watcher (and wakes one); a task is never left unwatched.
 */
export function createTaskWatch(sql: SqlClient): TaskWatch {
  return {
    takeWatcherLease: (holder, { leaseMs, successorOf }) =>
      guard("takeWatcherLease", async () => {
        const { rows } = await sql.query<{ holder: string }>(
          `UPDATE task_watcher SET holder = $1, lease_expires_at = now() + $2::float8 * interval '1 millisecond'
           WHERE id = 1 AND (holder IS NULL OR holder = $1 OR lease_expires_at <= now()
                             OR ($3::text IS NOT NULL AND holder = $3::text))
           RETURNING holder`,
          [holder, leaseMs, successorOf ?? null],
        );
        return rows.length > 0;
      }),

    releaseWatcherLease: (holder, { onlyIfIdle }) =>
      guard("releaseWatcherLease", () =>
        sql.transaction(async (tx) => {
          const { rows } = await tx.query<{ holder: string | null }>(
            "SELECT holder FROM task_watcher WHERE id = 1 FOR UPDATE",
          );
          if (rows[0]?.holder !== holder) return false;
          if (onlyIfIdle) {
            const busy = await tx.query<{ busy: boolean }>(
              `SELECT EXISTS (SELECT 1 FROM generations WHERE status = 'submitted' AND task_id IS NOT NULL
                               AND (task_end_status IS NULL OR task_end_signals < $1::int))
                   OR EXISTS (SELECT 1 FROM provider_slots WHERE granted AND lease_expires_at > now()) AS busy`,
              [MAX_TASK_END_SIGNALS],
            );
            if (busy.rows[0]?.busy) return false;
          }
          await tx.query("UPDATE task_watcher SET holder = NULL, lease_expires_at = NULL WHERE id = 1");
          return true;
        }),
      ),

    watcherActive: () =>
      guard("watcherActive", () =>
        sql.transaction(async (tx) => {
          // FOR UPDATE: waits for a watcher that is letting go of the lease, so its decision is seen (see above).
          const { rows } = await tx.query<{ active: boolean }>(
            `SELECT holder IS NOT NULL AND lease_expires_at > now() AS active FROM task_watcher WHERE id = 1
             FOR UPDATE`,
          );
          return rows[0]?.active === true;
        }),
      ),

    watchedTasks: () =>
      guard("watchedTasks", async () => {
        const { rows } = await sql.query<{
          generation_id: string;
          task_id: string;
          submitted_at: Date | string;
          task_end_status: string | null;
          task_end_signals: number;
          since_signal_ms: number | null;
          age_ms: number | null;
          resolution: WanResolution | null;
          duration_s: number | null;
        }>(
          `SELECT generation_id, task_id, submitted_at, task_end_status, task_end_signals, resolution, duration_s,
             (extract(epoch FROM now() - task_end_signalled_at) * 1000)::float8 AS since_signal_ms,
             (extract(epoch FROM now() - submitted_at) * 1000)::float8 AS age_ms
           FROM generations WHERE status = 'submitted' AND task_id IS NOT NULL ORDER BY submitted_at`,
        );
        return rows.map((row) => ({
          generationId: row.generation_id,
          taskId: row.task_id,
          submittedAt: new Date(row.submitted_at).toISOString(),
          ageMs: Number(row.age_ms ?? 0),
          resolution: row.resolution,
          durationSeconds: row.duration_s,
          endStatus: row.task_end_status,
          endSignals: row.task_end_signals,
          sinceSignalMs: row.since_signal_ms === null ? null : Number(row.since_signal_ms),
        }));
      }),

    recordTaskEnd: ({ generationId, taskId, providerStatus }) =>
      guard("recordTaskEnd", async () => {
        const { rows } = await sql.query(
          `UPDATE generations SET task_end_status = $3, task_ended_at = now()
           WHERE generation_id = $1 AND task_id = $2 AND task_end_status IS NULL RETURNING generation_id`,
          [generationId, taskId, providerStatus],
        );
        return rows.length > 0;
      }),

    recordedTaskEnd: (generationId) =>
      guard("recordedTaskEnd", async () => {
        const { rows } = await sql.query<{ task_id: string | null; task_end_status: string | null }>(
          "SELECT task_id, task_end_status FROM generations WHERE generation_id = $1",
          [generationId],
        );
        const row = rows[0];
        return row?.task_id && row.task_end_status
          ? { taskId: row.task_id, status: row.task_end_status }
          : null;
      }),

    markTaskEndsSignalled: (generationIds) =>
      guard("markTaskEndsSignalled", async () => {
        if (generationIds.length === 0) return;
        await sql.query(
          `UPDATE generations SET task_end_signals = task_end_signals + 1, task_end_signalled_at = now()
           WHERE generation_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
          [JSON.stringify(generationIds)],
        );
      }),
  };
}
