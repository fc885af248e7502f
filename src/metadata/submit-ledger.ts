import { StorageError } from "../errors/storage-error.ts";
import { guard, isUniqueViolation } from "./database-error.ts";
import { toIso } from "./generation-row.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { lockRecord } from "./record-lock.ts";
import type { SqlClient } from "./sql-client.ts";

/**
 * The metadata store's part that keeps the submit ledger: each generation's one billable call, recorded before it is
 * sent and after it is answered, so that an ambiguous submit is reconciled rather than repeated, and no provider
 * task is ever recorded by two generations.
 */
export type SubmitLedger = Pick<
  MetadataStore,
  "beginSubmit" | "recordSubmitRejected" | "recordSubmitted" | "knownTaskIds"
>;

/** Name of the unique index on task ids. */
const TASK_ID_INDEX = "generations_task_id";

/** The submit ledger on PostgreSQL (or PGlite): the `submit_*` and `task_id` columns of a generation's row. */
export function createSubmitLedger(sql: SqlClient): SubmitLedger {
  return {
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
  };
}
