import path from "node:path";
import type { StageConfig } from "../config.ts";
import { openEmbeddedDatabase } from "../metadata/embedded-database.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { createPostgresMetadataStore } from "../metadata/postgres-metadata-store.ts";
import { createPgSqlClient, type SqlClient } from "../metadata/sql-client.ts";

/**
 * The metadata store alone, for the read-only commands (`list`, `show`, `totals`): they need neither an API key nor
 * object storage, so they do not go through `composeStage`. Same rule as there: DATABASE_URL, else the embedded
 * database under OUTPUT_DIR/metadata.
 */
export async function openMetadataStore(
  config: StageConfig,
): Promise<{ metadataStore: MetadataStore; close(): Promise<void> }> {
  const sql: SqlClient = config.databaseUrl
    ? createPgSqlClient({ connectionString: config.databaseUrl })
    : (await openEmbeddedDatabase({ dataDir: path.join(config.outputDir, "metadata") })).sql;
  const metadataStore = createPostgresMetadataStore({ sql });
  try {
    await metadataStore.migrate();
  } catch (error) {
    await sql.close();
    throw error;
  }
  return { metadataStore, close: () => sql.close() };
}
