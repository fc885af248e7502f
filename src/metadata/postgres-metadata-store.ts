import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { WanResolution } from "../contract/wan-model.ts";
import { StorageError } from "../errors/storage-error.ts";
import { guard } from "./database-error.ts";
import {
  CLAIMING_STATUSES,
  type ClaimResult,
  type GenerationStatus,
  type SlotRequest,
  TERMINAL_STATUSES,
  type Totals,
} from "./generation-record.ts";
import { type GenerationRow, RECORD_COLUMNS, toIso, toRecord } from "./generation-row.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { migrate } from "./migrate.ts";
import type { SqlClient } from "./sql-client.ts";

/** Options of {@link createPostgresMetadataStore}. */
export interface PostgresMetadataStoreOptions {
  /** The connection: `createPgSqlClient` for PostgreSQL, `createPgliteSqlClient` / `openEmbeddedDatabase` otherwise. */
  sql: SqlClient;
}

/** Advisory lock key that serialises budget changes across processes (an arbitrary constant owned by this module). */
const SLOT_LOCK_KEY = 7_240_002;
/** Name of the partial unique index that allows one active generation per cache key (see the migration). */
const ACTIVE_CACHE_KEY_INDEX = "generations_active_cache_key";
/** Name of the unique index on task ids. */
const TASK_ID_INDEX = "generations_task_id";
/** Racing claimants that lose on the unique index re-read the winner; a few rounds settle any race. */
const CLAIM_ATTEMPTS = 10;
const LIST_LIMIT_DEFAULT = 50;
const LIST_LIMIT_MAX = 1000;

const CLAIMING_SQL = CLAIMING_STATUSES.map((status) => `'${status}'`).join(", ");
const TERMINAL_SQL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(", ");

/**
 * The metadata store on PostgreSQL (or PGlite) through a {@link SqlClient}. Every operation is one short
 * transaction; times come from the database's `now()` so that many processes agree. Errors are StorageErrors:
 * `database_unavailable` (retryable) when the server cannot be reached, non-retryable codes for logic errors.
 */
export function createPostgresMetadataStore(options: PostgresMetadataStoreOptions): MetadataStore {
  const { sql } = options;

  return {
    async migrate() {
      await guard("migrate", () => migrate(sql));
    },

    close: () => sql.close(),

    upsertGeneration: (input) =>
      guard("upsertGeneration", async () => {
        // A new run of a generation that ended without a result (or a refresh of a succeeded one) starts it afresh.
        // A task that had SUCCEEDED at the provider (the run failed later, e.g. storage down during the copy) is
        // kept, so the new run copies that video instead of paying for another; any other task is forgotten.
        const restarted = await sql.query(
          `UPDATE generations SET status = 'pending', stage = 'validate', attached_to = NULL, completed_at = NULL,
             result = NULL, error_code = NULL, error_message = NULL,
             task_id = CASE WHEN keeps_task THEN task_id END,
             provider_request_id = CASE WHEN keeps_task THEN provider_request_id END,
             submit_state = CASE WHEN keeps_task THEN submit_state ELSE 'none' END,
             submit_attempted_at = CASE WHEN keeps_task THEN submit_attempted_at END,
             submitted_at = CASE WHEN keeps_task THEN submitted_at END,
             provider_status = CASE WHEN keeps_task THEN provider_status END,
             video_seconds = NULL, cost_amount = NULL, cost_currency = NULL, cache_hit = NULL, poster_key = NULL,
             updated_at = now(),
             started_at = now()
           FROM (SELECT generation_id AS id, (status = 'failed' AND provider_status = 'SUCCEEDED'
                   AND submitted_at > now() - interval '23 hours') AS keeps_task
                 FROM generations WHERE generation_id = $1) AS previous
           WHERE previous.id = generations.generation_id AND run_id IS DISTINCT FROM $2
             AND (status IN ('failed', 'canceled') OR (status = 'succeeded' AND $3 <> 'use'))
           RETURNING generations.generation_id`,
          [input.generationId, input.runId, input.cacheMode],
        );
        const values = [
          input.generationId,
          JSON.stringify(input.request),
          input.cacheMode,
          input.provider,
          input.model,
          input.correlation === null ? null : JSON.stringify(input.correlation),
          input.runId,
        ];
        // Insert and refresh are two statements so that exactly one caller learns it created the record (the
        // losers of a race wait on the primary key, then refresh).
        const created = await sql.query(
          `INSERT INTO generations (generation_id, request, cache_mode, provider, model, correlation, run_id, status, stage)
           VALUES ($1, $2::text::jsonb, $3, $4, $5, $6::text::jsonb, $7, 'pending', 'validate')
           ON CONFLICT (generation_id) DO NOTHING RETURNING generation_id`,
          values,
        );
        if (created.rows.length > 0) return "created";
        // On a replay of the same run the record is refreshed, but its status and progress stay as they are.
        await sql.query(
          `UPDATE generations SET request = $2::text::jsonb, cache_mode = $3, provider = $4, model = $5,
             correlation = $6::text::jsonb, run_id = coalesce($7, run_id), updated_at = now()
           WHERE generation_id = $1`,
          values,
        );
        return restarted.rows.length > 0 ? "restarted" : "refreshed";
      }),

    recordEarlyEnding: (input) =>
      guard("recordEarlyEnding", async () => {
        const { rows } = await sql.query(
          `INSERT INTO generations (generation_id, request, cache_mode, provider, model, correlation, run_id, status,
             stage, error_code, error_message, completed_at)
           VALUES ($1, $2::text::jsonb, 'use', $3, $4, $5::text::jsonb, $6, $7, 'validate', $8, $9, now())
           ON CONFLICT (generation_id) DO UPDATE SET
             request = EXCLUDED.request, correlation = EXCLUDED.correlation, run_id = EXCLUDED.run_id,
             status = EXCLUDED.status, stage = EXCLUDED.stage, error_code = EXCLUDED.error_code,
             error_message = EXCLUDED.error_message, completed_at = now(), updated_at = now(), started_at = now(),
             result = NULL, task_id = NULL, provider_request_id = NULL, submit_state = 'none',
             submit_attempted_at = NULL, submitted_at = NULL, provider_status = NULL, attached_to = NULL,
             poster_key = NULL, image_key = NULL
           WHERE generations.status IN ('failed', 'canceled') AND generations.run_id IS DISTINCT FROM EXCLUDED.run_id
           RETURNING generation_id`,
          [
            input.generationId,
            JSON.stringify(input.request),
            input.provider,
            input.model,
            input.correlation === null ? null : JSON.stringify(input.correlation),
            input.runId,
            input.ending.status,
            input.ending.code,
            input.ending.message,
          ],
        );
        return rows.length > 0;
      }),

    findSucceededByCacheKey: (cacheKey) =>
      guard("findSucceededByCacheKey", async () => {
        const { rows } = await sql.query<GenerationRow>(
          `SELECT ${RECORD_COLUMNS} FROM generations
           WHERE cache_key = $1 AND status = 'succeeded' AND cache_mode <> 'bypass'
           ORDER BY completed_at DESC NULLS LAST, created_at DESC LIMIT 1`,
          [cacheKey],
        );
        return rows[0] ? toRecord(rows[0]) : null;
      }),

    claim: (input) =>
      guard("claim", async () => {
        for (let attempt = 1; ; attempt += 1) {
          try {
            return await sql.transaction((tx) => claimOnce(tx, input));
          } catch (error) {
            // Lost a race on the unique index: the winner is committed now, so the next round attaches to it.
            if (!isUniqueViolation(error, ACTIVE_CACHE_KEY_INDEX) || attempt >= CLAIM_ATTEMPTS) throw error;
          }
        }
      }),

    acquireSlot: (holder, { limit, leaseMs, staleWaiterMs }) =>
      guard("acquireSlot", () =>
        sql.transaction(async (tx): Promise<SlotRequest> => {
          await lockBudget(tx, staleWaiterMs);
          // A slot already held (or handed over to this holder) is renewed and taken.
          const renewed = await tx.query(
            `UPDATE provider_slots SET lease_expires_at = now() + $2::float8 * interval '1 millisecond', granted = false
             WHERE holder = $1 RETURNING holder`,
            [holder, leaseMs],
          );
          if (renewed.rows.length > 0) {
            await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
            return { acquired: true };
          }
          // Free slots go to the oldest waiters first: a newcomer (or a later waiter) may take one only when more
          // slots are free than waiters are queued ahead of it.
          const { rows } = await tx.query<{ free: number; ahead: number; waiting: number }>(
            `SELECT $2::int - (SELECT count(*) FROM provider_slots)::int AS free,
               (SELECT count(*) FROM provider_slot_waiters w
                 WHERE NOT EXISTS (SELECT 1 FROM provider_slot_waiters WHERE holder = $1)
                    OR (w.enqueued_at, w.holder) <
                       (SELECT enqueued_at, holder FROM provider_slot_waiters WHERE holder = $1))::int AS ahead,
               (SELECT count(*) FROM provider_slot_waiters WHERE holder <> $1)::int AS waiting`,
            [holder, limit],
          );
          const { free, ahead, waiting } = rows[0] ?? { free: 0, ahead: 0, waiting: 0 };
          if (free > ahead) {
            await tx.query(
              `INSERT INTO provider_slots (holder, lease_expires_at)
               VALUES ($1, now() + $2::float8 * interval '1 millisecond')`,
              [holder, leaseMs],
            );
            await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
            return { acquired: true };
          }
          await tx.query(
            `INSERT INTO provider_slot_waiters (holder) VALUES ($1)
             ON CONFLICT (holder) DO UPDATE SET seen_at = clock_timestamp()`,
            [holder],
          );
          return { acquired: false, position: ahead + 1, waiting: waiting + 1 };
        }),
      ),

    renewSlot: (holder, leaseMs) =>
      guard("renewSlot", async () => {
        // An expired lease is lost, not renewed: its slot may already count as free for others.
        await sql.query(
          `UPDATE provider_slots SET lease_expires_at = now() + $2::float8 * interval '1 millisecond'
           WHERE holder = $1 AND lease_expires_at > now()`,
          [holder, leaseMs],
        );
        const { rows } = await sql.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM provider_slot_waiters",
        );
        return { waiting: rows[0]?.waiting ?? 0 };
      }),

    releaseSlot: (holder, handOver) =>
      guard("releaseSlot", () =>
        sql.transaction(async (tx) => {
          await lockBudget(tx, handOver?.staleWaiterMs);
          await tx.query("DELETE FROM provider_slots WHERE holder = $1", [holder]);
          await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
          if (!handOver) return { grantedTo: [] };
          const granted = await tx.query<{ holder: string }>(
            `INSERT INTO provider_slots (holder, lease_expires_at, granted)
             SELECT holder, now() + $2::float8 * interval '1 millisecond', true FROM provider_slot_waiters
             ORDER BY enqueued_at, holder
             LIMIT greatest(0, $1::int - (SELECT count(*) FROM provider_slots)::int)
             ON CONFLICT (holder) DO NOTHING
             RETURNING holder`,
            [handOver.limit, handOver.grantLeaseMs],
          );
          const grantedTo = granted.rows.map((row) => row.holder);
          if (grantedTo.length > 0) {
            await tx.query(
              "DELETE FROM provider_slot_waiters WHERE holder IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
              [JSON.stringify(grantedTo)],
            );
          }
          return { grantedTo };
        }),
      ),

    countSlots: () =>
      guard("countSlots", async () => {
        const { rows } = await sql.query<{ count: number }>(
          "SELECT count(*)::int AS count FROM provider_slots WHERE lease_expires_at > now()",
        );
        return rows[0]?.count ?? 0;
      }),

    beginSubmit: (generationId) =>
      guard("beginSubmit", () =>
        sql.transaction(async (tx) => {
          const row = await lockRecord(tx, generationId);
          // Once a task is recorded the state stays `accepted`: the caller must resume that task, not submit again.
          if (row.submit_state !== "accepted") {
            await tx.query(
              `UPDATE generations SET submit_state = 'in_flight', submit_attempted_at = now(), updated_at = now()
               WHERE generation_id = $1`,
              [generationId],
            );
          }
          return { previousState: row.submit_state, previousAttemptAt: toIso(row.submit_attempted_at) };
        }),
      ),

    recordSubmitRejected: (generationId) =>
      guard("recordSubmitRejected", () =>
        sql.transaction(async (tx) => {
          await lockRecord(tx, generationId);
          await tx.query(
            `UPDATE generations SET submit_state = 'rejected', updated_at = now()
             WHERE generation_id = $1 AND submit_state <> 'accepted'`,
            [generationId],
          );
        }),
      ),

    recordSubmitted: (generationId, { taskId, providerRequestId, resolution, duration, imageDelivery }) =>
      guard("recordSubmitted", async () => {
        try {
          await sql.transaction(async (tx) => {
            const row = await lockRecord(tx, generationId);
            if (row.task_id !== null && row.task_id !== taskId) {
              throw new StorageError(
                `Generation ${generationId} already recorded provider task ${row.task_id}; refusing to replace it with ${taskId}.`,
                { code: "task_already_recorded", retryable: false },
              );
            }
            await tx.query(
              `UPDATE generations SET
                 task_id = $2, provider_request_id = coalesce($3, provider_request_id), submit_state = 'accepted',
                 resolution = coalesce($4, resolution), duration_s = coalesce($5, duration_s),
                 image_delivery = coalesce($6, image_delivery),
                 submitted_at = coalesce(submitted_at, now()), updated_at = now(),
                 status = CASE WHEN status = 'pending' THEN 'submitted' ELSE status END,
                 stage = CASE WHEN status = 'pending' THEN 'rendering' ELSE stage END
               WHERE generation_id = $1`,
              [
                generationId,
                taskId,
                providerRequestId ?? null,
                resolution ?? null,
                duration ?? null,
                imageDelivery ?? null,
              ],
            );
          });
        } catch (error) {
          if (!isUniqueViolation(error, TASK_ID_INDEX)) throw error;
          throw new StorageError(`Provider task ${taskId} is already recorded by another generation.`, {
            code: "task_already_recorded",
            retryable: false,
            cause: error,
          });
        }
      }),

    knownTaskIds: (taskIds) =>
      guard("knownTaskIds", async () => {
        if (taskIds.length === 0) return new Set<string>();
        // A JSON array parameter works the same in pg and PGlite (a JS array would become a PG array literal in pg).
        const { rows } = await sql.query<{ task_id: string }>(
          "SELECT task_id FROM generations WHERE task_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
          [JSON.stringify(taskIds)],
        );
        return new Set(rows.map((row) => row.task_id));
      }),

    recordProgress: (generationId, { stage, status, providerStatus }) =>
      guard("recordProgress", async () => {
        if (status !== undefined && TERMINAL_STATUSES.includes(status)) {
          throw new StorageError(
            `recordProgress cannot set the terminal status ${status}; use recordSucceeded, recordFailed or recordCanceled.`,
            { code: "invalid_status_change", retryable: false },
          );
        }
        await updateUnlessTerminal(
          generationId,
          `UPDATE generations SET stage = $2, status = coalesce($3, status),
             provider_status = coalesce($4, provider_status), updated_at = now()
           WHERE generation_id = $1 AND status NOT IN (${TERMINAL_SQL}) RETURNING generation_id`,
          [generationId, stage, status ?? null, providerStatus ?? null],
        );
      }),

    recordSucceeded: (generationId, response) =>
      guard("recordSucceeded", () =>
        updateUnlessTerminal(
          generationId,
          `UPDATE generations SET status = 'succeeded', stage = 'done', result = $2::text::jsonb,
             video_seconds = $3, cost_amount = $4, cost_currency = $5, cache_hit = $6, render_ms = $7,
             completed_at = now(), updated_at = now()
           WHERE generation_id = $1 AND status NOT IN (${TERMINAL_SQL}) RETURNING generation_id`,
          [
            generationId,
            JSON.stringify(response),
            response.duration,
            response.cost_estimate.amount,
            response.cost_estimate.currency,
            response.cache_hit,
            response.cache_hit ? null : (response.timings.render_ms ?? null),
          ],
        ),
      ),

    recordFailed: (generationId, { code, message }) =>
      guard("recordFailed", () =>
        updateUnlessTerminal(
          generationId,
          `UPDATE generations SET status = 'failed', error_code = $2, error_message = $3,
             completed_at = now(), updated_at = now()
           WHERE generation_id = $1 AND status NOT IN (${TERMINAL_SQL}) RETURNING generation_id`,
          [generationId, code, message],
        ),
      ),

    recordCanceled: (generationId, { reason }) =>
      guard("recordCanceled", () =>
        updateUnlessTerminal(
          generationId,
          `UPDATE generations SET status = 'canceled', error_code = 'canceled', error_message = $2,
             completed_at = now(), updated_at = now()
           WHERE generation_id = $1 AND status NOT IN (${TERMINAL_SQL}) RETURNING generation_id`,
          [generationId, reason],
        ),
      ),

    recordPoster: (generationId, posterKey) =>
      guard("recordPoster", async () => {
        const { rows } = await sql.query(
          "UPDATE generations SET poster_key = $2, updated_at = now() WHERE generation_id = $1 RETURNING generation_id",
          [generationId, posterKey],
        );
        if (rows.length === 0) throw notFound(generationId);
      }),

    recordImageKey: (generationId, imageKey) =>
      guard("recordImageKey", async () => {
        const { rows } = await sql.query(
          "UPDATE generations SET image_key = $2, updated_at = now() WHERE generation_id = $1 RETURNING generation_id",
          [generationId, imageKey],
        );
        if (rows.length === 0) throw notFound(generationId);
      }),

    listMissingMedia: ({ missing, limit, before }) =>
      guard("listMissingMedia", async () => {
        // The conditions match the partial indexes of migration 004, so a page is one index range.
        const condition =
          missing === "poster"
            ? "status = 'succeeded' AND poster_key IS NULL"
            : "image_key IS NULL AND image_sha256 IS NOT NULL";
        const { rows } = await sql.query<GenerationRow>(
          `SELECT ${RECORD_COLUMNS} FROM generations
           WHERE ${condition}
             AND ($1::timestamptz IS NULL OR (created_at, generation_id) < ($1::timestamptz, $2::text))
           ORDER BY created_at DESC, generation_id DESC LIMIT $3::int`,
          [
            before?.createdAt ?? null,
            before?.generationId ?? "",
            Math.min(Math.max(Math.trunc(limit), 1), LIST_LIMIT_MAX),
          ],
        );
        return rows.map(toRecord);
      }),

    recentRenders: ({ resolution, limit }) =>
      guard("recentRenders", async () => {
        const { rows } = await sql.query<{
          duration_s: number;
          resolution: WanResolution;
          render_ms: number;
        }>(
          `SELECT duration_s, resolution, render_ms FROM generations
           WHERE status = 'succeeded' AND render_ms IS NOT NULL AND resolution = $1 AND duration_s IS NOT NULL
           ORDER BY completed_at DESC LIMIT $2::int`,
          [resolution, limit],
        );
        return rows.map((row) => ({
          duration: row.duration_s,
          resolution: row.resolution,
          renderMs: row.render_ms,
        }));
      }),

    get: (generationId) =>
      guard("get", async () => {
        const { rows } = await sql.query<GenerationRow>(
          `SELECT ${RECORD_COLUMNS} FROM generations WHERE generation_id = $1`,
          [generationId],
        );
        return rows[0] ? toRecord(rows[0]) : null;
      }),

    list: (filter = {}) =>
      guard("list", async () => {
        const conditions: string[] = [];
        const params: unknown[] = [];
        const addParameter = (value: unknown) => `$${params.push(value)}`;
        if (filter.status !== undefined) conditions.push(`status = ${addParameter(filter.status)}`);
        if (filter.since !== undefined) {
          conditions.push(`created_at >= ${addParameter(filter.since.toISOString())}::timestamptz`);
        }
        if (filter.correlation !== undefined) {
          const key = addParameter(filter.correlation.key);
          const value = addParameter(filter.correlation.value);
          conditions.push(`correlation @> jsonb_build_object(${key}::text, ${value}::text)`);
        }
        const limit = Math.min(Math.max(Math.trunc(filter.limit ?? LIST_LIMIT_DEFAULT), 1), LIST_LIMIT_MAX);
        const { rows } = await sql.query<GenerationRow>(
          `SELECT ${RECORD_COLUMNS} FROM generations
           ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
           ORDER BY created_at DESC, generation_id DESC LIMIT ${addParameter(limit)}::int`,
          params,
        );
        return rows.map(toRecord);
      }),

    totals: (filter = {}) =>
      guard("totals", async () => {
        const since = filter.since?.toISOString() ?? null;
        const where = "WHERE ($1::timestamptz IS NULL OR created_at >= $1::timestamptz)";
        const billable = "status = 'succeeded' AND cache_hit IS NOT TRUE";
        const [counts, costs] = await Promise.all([
          sql.query<Omit<Totals, "cost">>(
            `SELECT count(*)::int AS count,
               (count(*) FILTER (WHERE status = 'succeeded'))::int AS succeeded,
               (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
               (count(*) FILTER (WHERE status = 'canceled'))::int AS canceled,
               coalesce(sum(video_seconds) FILTER (WHERE ${billable}), 0)::float8 AS "videoSeconds"
             FROM generations ${where}`,
            [since],
          ),
          sql.query<{ currency: string; amount: number }>(
            `SELECT cost_currency AS currency, sum(cost_amount)::float8 AS amount
             FROM generations ${where} AND ${billable} AND cost_currency IS NOT NULL
             GROUP BY cost_currency ORDER BY cost_currency`,
            [since],
          ),
        ]);
        const row = counts.rows[0] ?? { count: 0, succeeded: 0, failed: 0, canceled: 0, videoSeconds: 0 };
        return { ...row, cost: costs.rows };
      }),
  };

  /**
   * Runs a terminal or progress update that must not touch a finished record. Zero rows updated means either
   * finished (a repeated call: nothing to do) or missing (a caller bug: reported). Returns whether a row changed.
   */
  async function updateUnlessTerminal(
    generationId: string,
    text: string,
    params: unknown[],
  ): Promise<boolean> {
    const { rows } = await sql.query(text, params);
    if (rows.length > 0) return true;
    const existing = await sql.query("SELECT 1 FROM generations WHERE generation_id = $1", [generationId]);
    if (existing.rows.length === 0) throw notFound(generationId);
    return false;
  }
}

/**
 * Serialises budget changes across processes for the rest of the transaction, then drops expired leases and, when
 * a horizon is given, waiters that stopped asking (runs that died while queued).
 */
async function lockBudget(tx: SqlClient, staleWaiterMs: number | undefined): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1)", [SLOT_LOCK_KEY]);
  await tx.query("DELETE FROM provider_slots WHERE lease_expires_at <= now()");
  if (staleWaiterMs !== undefined) {
    await tx.query(
      "DELETE FROM provider_slot_waiters WHERE seen_at <= now() - $1::float8 * interval '1 millisecond'",
      [staleWaiterMs],
    );
  }
}

async function claimOnce(
  tx: SqlClient,
  input: { generationId: string; cacheKey: string; imageSha256: string; warnings: GenerationWarning[] },
): Promise<ClaimResult> {
  const self = await lockRecord(tx, input.generationId);
  if (TERMINAL_STATUSES.includes(self.status)) {
    throw new StorageError(
      `Generation ${input.generationId} already ended (${self.status}); run it again under a new generation_id.`,
      { code: "generation_finished", retryable: false },
    );
  }
  const details = [input.generationId, input.cacheKey, input.imageSha256, JSON.stringify(input.warnings)];

  if (self.cache_mode !== "bypass") {
    if (CLAIMING_STATUSES.includes(self.status) && self.cache_key === input.cacheKey)
      return { outcome: "claimed" };
    const active = await tx.query<{
      generation_id: string;
      task_id: string | null;
      status: GenerationStatus;
    }>(
      `SELECT generation_id, task_id, status FROM generations
       WHERE cache_key = $1 AND status IN (${CLAIMING_SQL}) AND cache_mode <> 'bypass' AND generation_id <> $2
       LIMIT 1`,
      [input.cacheKey, input.generationId],
    );
    const owner = active.rows[0];
    if (owner) {
      await tx.query(
        `UPDATE generations SET cache_key = $2, image_sha256 = $3, warnings = $4::text::jsonb, status = 'attached',
           stage = 'waiting-for-duplicate', attached_to = $5, updated_at = now()
         WHERE generation_id = $1`,
        [...details, owner.generation_id],
      );
      return {
        outcome: "attached",
        owner: { generationId: owner.generation_id, taskId: owner.task_id, status: owner.status },
      };
    }
    // Repeating the claim after the owner finished: a succeeded owner still answers this generation; a failed or
    // canceled one does not, so this generation takes the key itself.
    if (self.status === "attached" && self.attached_to !== null) {
      const previous = await tx.query<{
        generation_id: string;
        task_id: string | null;
        status: GenerationStatus;
      }>("SELECT generation_id, task_id, status FROM generations WHERE generation_id = $1", [
        self.attached_to,
      ]);
      const owner = previous.rows[0];
      if (owner?.status === "succeeded") {
        return {
          outcome: "attached",
          owner: { generationId: owner.generation_id, taskId: owner.task_id, status: owner.status },
        };
      }
    }
  }

  // The partial unique index rejects this update (23505) when a racing claimant committed first.
  await tx.query(
    `UPDATE generations SET cache_key = $2, image_sha256 = $3, warnings = $4::text::jsonb, attached_to = NULL,
       status = CASE WHEN status IN ('submitted', 'copying') THEN status ELSE 'pending' END,
       stage = CASE WHEN status IN ('submitted', 'copying') THEN stage ELSE 'claim' END,
       updated_at = now()
     WHERE generation_id = $1`,
    details,
  );
  return { outcome: "claimed" };
}

async function lockRecord(tx: SqlClient, generationId: string): Promise<GenerationRow> {
  const { rows } = await tx.query<GenerationRow>(
    `SELECT ${RECORD_COLUMNS} FROM generations WHERE generation_id = $1 FOR UPDATE`,
    [generationId],
  );
  if (!rows[0]) throw notFound(generationId);
  return rows[0];
}

function notFound(generationId: string): StorageError {
  return new StorageError(`No generation record ${generationId}; upsertGeneration must run first.`, {
    code: "generation_not_found",
    retryable: false,
  });
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const details = error as { code?: unknown; constraint?: unknown };
  return details?.code === "23505" && details.constraint === constraint;
}
