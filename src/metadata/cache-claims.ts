import type { GenerationWarning } from "../contract/generation-warning.ts";
import { StorageError } from "../errors/storage-error.ts";
import { guard, isUniqueViolation } from "./database-error.ts";
import {
  CLAIMING_STATUSES,
  type ClaimResult,
  type GenerationStatus,
  TERMINAL_STATUSES,
} from "./generation-record.ts";
import { type GenerationRow, RECORD_COLUMNS, toRecord } from "./generation-row.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { lockRecord } from "./record-lock.ts";
import type { SqlClient } from "./sql-client.ts";

/**
 * The metadata store's part that keeps the cache: the stored result a cache key answers with, and the claims that
 * let one generation per cache key reach the provider while identical ones attach to it.
 */
export type CacheClaims = Pick<MetadataStore, "findSucceededByCacheKey" | "claim">;

/** Name of the partial unique index that allows one active generation per cache key (see the migration). */
const ACTIVE_CACHE_KEY_INDEX = "generations_active_cache_key";
/** Racing claimants that lose on the unique index re-read the winner; a few rounds settle any race. */
const CLAIM_ATTEMPTS = 10;

const CLAIMING_SQL = CLAIMING_STATUSES.map((status) => `'${status}'`).join(", ");

/** The cache on PostgreSQL (or PGlite): the `cache_key` and `attached_to` columns and their partial unique index. */
export function createCacheClaims(sql: SqlClient): CacheClaims {
  return {
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
  };
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
