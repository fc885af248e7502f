export {
  type EmbeddedDatabase,
  type EmbeddedDatabaseOptions,
  openEmbeddedDatabase,
} from "./embedded-database.ts";
export {
  CLAIMING_STATUSES,
  type ClaimResult,
  type GenerationRecord,
  type GenerationStage,
  type GenerationStatus,
  type ListFilter,
  type RecordedRender,
  type SubmitState,
  TERMINAL_STATUSES,
  type Totals,
} from "./generation-record.ts";
export { posterKeyOf, videoKeyOfRecord, videoKeyOfStorageUri } from "./media-keys.ts";
export type { GenerationUpsert, MetadataStore } from "./metadata-store.ts";
export { loadMigrations, type Migration, migrate } from "./migrate.ts";
export { createPostgresMetadataStore, type PostgresMetadataStoreOptions } from "./postgres-metadata-store.ts";
export {
  createPgliteSqlClient,
  createPgSqlClient,
  type PgSqlClientOptions,
  type SqlClient,
} from "./sql-client.ts";
