import type { WanResolution } from "../contract/wan-model.ts";
import { StorageError } from "../errors/storage-error.ts";
import { guard } from "./database-error.ts";
import { TERMINAL_STATUSES, type Totals } from "./generation-record.ts";
import { type GenerationRow, RECORD_COLUMNS, toRecord } from "./generation-row.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { generationNotFound } from "./record-lock.ts";
import type { SqlClient } from "./sql-client.ts";

/**
 * The metadata store's part that keeps the generation records themselves: their start and restart, progress, the
 * terminal updates, the media keys, and the reads (one record, lists, totals, recent renders, records missing media).
 */
export type GenerationRecords = Pick<
  MetadataStore,
  | "upsertGeneration"
  | "recordEarlyEnding"
  | "recordProgress"
  | "recordSucceeded"
  | "recordFailed"
  | "recordCanceled"
  | "recordPoster"
  | "recordImageKey"
  | "listMissingMedia"
  | "recentRenders"
  | "get"
  | "list"
  | "totals"
>;

const LIST_LIMIT_DEFAULT = 50;
const LIST_LIMIT_MAX = 1000;

const TERMINAL_SQL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(", ");

/** The records on PostgreSQL (or PGlite): the `generations` table. */
export function createGenerationRecords(sql: SqlClient): GenerationRecords {
  return {
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
             task_end_status = CASE WHEN keeps_task THEN task_end_status END, task_end_signals = 0,
             task_end_signalled_at = NULL,
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
             poster_key = NULL, image_key = NULL, task_end_status = NULL, task_end_signals = 0,
             task_end_signalled_at = NULL
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
        if (rows.length === 0) throw generationNotFound(generationId);
      }),

    recordImageKey: (generationId, imageKey) =>
      guard("recordImageKey", async () => {
        const { rows } = await sql.query(
          "UPDATE generations SET image_key = $2, updated_at = now() WHERE generation_id = $1 RETURNING generation_id",
          [generationId, imageKey],
        );
        if (rows.length === 0) throw generationNotFound(generationId);
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
    if (existing.rows.length === 0) throw generationNotFound(generationId);
    return false;
  }
}
