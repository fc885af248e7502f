import type { GenerationStatus } from "./generation-record.ts";
import type { SqlClient } from "./sql-client.ts";

/** The statuses of a generation still in flight (everything but the terminal ones). */
export const ACTIVE_STATUSES = [
  "pending",
  "submitted",
  "copying",
  "attached",
] as const satisfies readonly GenerationStatus[];

/** One of {@link ACTIVE_STATUSES}. */
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];

/** What an operator's gauges show, read from the shared database (so every worker reports the same values). */
export interface OperatorGauges {
  /** Generations in flight, by status (every active status present, 0 when none). */
  active: Record<ActiveStatus, number>;
  /** Age in seconds of the oldest generation in flight, since its current attempt started; 0 when none is. */
  oldestActiveAgeSeconds: number;
  /** Unexpired leases of the account-wide budget (slots handed over to a waiter included). */
  budgetSlotsInUse: number;
  /** Generations queued for a budget slot. */
  budgetWaiters: number;
  /**
   * Submitted tasks while no task watcher holds its lease: 0 where the watcher works (or runs in process, which check
   * their own tasks); above 0 for minutes on Inngest, endings are found only by the runs' sparse fallback checks.
   */
  unwatchedTasks: number;
}

const ACTIVE_SQL = ACTIVE_STATUSES.map((status) => `'${status}'`).join(", ");

/**
 * The statement {@link readOperatorGauges} runs: one round trip. The generation parts read the few active rows
 * through the status index (`generations_status_newest`), never the terminal history, and the budget tables hold a
 * row per slot or waiter, so the cost does not grow with the history (bench/metrics-scrape-benchmark.ts). The age
 * uses the database's clock, which every worker shares.
 */
export const OPERATOR_GAUGES_SQL = `SELECT
  (SELECT coalesce(jsonb_object_agg(status, count), '{}'::jsonb)
     FROM (SELECT status, count(*)::int AS count FROM generations WHERE status IN (${ACTIVE_SQL}) GROUP BY status) AS s
  )::text AS active,
  (SELECT coalesce(extract(epoch FROM now() - min(started_at)), 0)::float8
     FROM generations WHERE status IN (${ACTIVE_SQL})) AS oldest_active_age_seconds,
  (SELECT count(*)::int FROM provider_slots WHERE lease_expires_at > now()) AS budget_slots_in_use,
  (SELECT count(*)::int FROM provider_slot_waiters) AS budget_waiters,
  (SELECT count(*)::int FROM generations WHERE status = 'submitted' AND task_id IS NOT NULL
     AND task_end_status IS NULL
     AND NOT EXISTS (SELECT 1 FROM task_watcher WHERE holder IS NOT NULL AND lease_expires_at > now())
  ) AS unwatched_tasks`;

/** Reads the operator gauges in one query. */
export async function readOperatorGauges(sql: SqlClient): Promise<OperatorGauges> {
  const { rows } = await sql.query<{
    active: string;
    oldest_active_age_seconds: number;
    budget_slots_in_use: number;
    budget_waiters: number;
    unwatched_tasks: number;
  }>(OPERATOR_GAUGES_SQL);
  const row = rows[0];
  const counts = JSON.parse(row?.active ?? "{}") as Partial<Record<string, number>>;
  const active = Object.fromEntries(ACTIVE_STATUSES.map((status) => [status, counts[status] ?? 0])) as Record<
    ActiveStatus,
    number
  >;
  return {
    active,
    // A clock step on the database could make a fresh start look a hair in the future.
    oldestActiveAgeSeconds: Math.max(0, row?.oldest_active_age_seconds ?? 0),
    budgetSlotsInUse: row?.budget_slots_in_use ?? 0,
    budgetWaiters: row?.budget_waiters ?? 0,
    unwatchedTasks: row?.unwatched_tasks ?? 0,
  };
}
