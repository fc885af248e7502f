import { createBudgetSlots } from "./budget-slots.ts";
import { createCacheClaims } from "./cache-claims.ts";
import { guard } from "./database-error.ts";
import { createGenerationRecords } from "./generation-records.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { migrate } from "./migrate.ts";
import type { SqlClient } from "./sql-client.ts";
import { createSubmitLedger } from "./submit-ledger.ts";
import { createTaskWatch } from "./task-watch.ts";

/** Options of {@link createPostgresMetadataStore}. */
export interface PostgresMetadataStoreOptions {
  /** The connection: `createPgSqlClient` for PostgreSQL, `createPgliteSqlClient` / `openEmbeddedDatabase` otherwise. */
  sql: SqlClient;
}

/**
 * The metadata store on PostgreSQL (or PGlite) through a {@link SqlClient}, composed of its parts, one concern each
 * on the one connection: the generation records (`generation-records.ts`), the cache claims (`cache-claims.ts`),
 * the submit ledger (`submit-ledger.ts`), the provider budget (`budget-slots.ts`) and the task watcher's state
 * (`task-watch.ts`). Every operation is one short
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
    ...createGenerationRecords(sql),
    ...createCacheClaims(sql),
    ...createSubmitLedger(sql),
    ...createBudgetSlots(sql),
    ...createTaskWatch(sql),
  };
}
