import { StorageError } from "../errors/storage-error.ts";
import { type GenerationRow, RECORD_COLUMNS } from "./generation-row.ts";
import type { SqlClient } from "./sql-client.ts";

/**
 * Reads a generation's row and locks it for the rest of the transaction `tx`, so that changes to one record
 * (a claim, a submit's states) are serialised across processes. Fails with `generation_not_found` without one.
 */
export async function lockRecord(tx: SqlClient, generationId: string): Promise<GenerationRow> {
  const { rows } = await tx.query<GenerationRow>(
    `SELECT ${RECORD_COLUMNS} FROM generations WHERE generation_id = $1 FOR UPDATE`,
    [generationId],
  );
  if (!rows[0]) throw generationNotFound(generationId);
  return rows[0];
}

/** The error for an update of a record that does not exist: a caller bug, since `upsertGeneration` runs first. */
export function generationNotFound(generationId: string): StorageError {
  return new StorageError(`No generation record ${generationId}; upsertGeneration must run first.`, {
    code: "generation_not_found",
    retryable: false,
  });
}
