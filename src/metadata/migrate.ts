import { readdir, readFile } from "node:fs/promises";
import type { SqlClient } from "./sql-client.ts";

/** Advisory lock key that serialises migrations across processes (an arbitrary constant owned by this module). */
const MIGRATION_LOCK_KEY = 7_240_001;

const MIGRATIONS_DIRECTORY = new URL("./migrations/", import.meta.url);

/** One plain SQL migration. */
export interface Migration {
  /** The file name without `.sql`, e.g. `001-generations`; recorded in `schema_migrations`. Applied in sort order. */
  version: string;
  /** Statements separated by `;` at the end of a line (no function bodies: the file is split on those). */
  sql: string;
}

/** The migrations shipped in `./migrations`, in order. */
export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIRECTORY)).filter((file) => /^\d+-[\w-]+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: file.replace(/\.sql$/, ""),
      sql: await readFile(new URL(file, MIGRATIONS_DIRECTORY), "utf8"),
    })),
  );
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, all in one transaction. Idempotent (a second run
 * is a no-op) and safe when several processes start at once: the first takes an advisory lock, the others wait for
 * it and then find nothing left to do.
 * @returns the versions applied by this call.
 */
export async function migrate(sql: SqlClient, migrations?: Migration[]): Promise<string[]> {
  const pending = migrations ?? (await loadMigrations());
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const { rows } = await tx.query<{ version: string }>("SELECT version FROM schema_migrations");
    const applied = new Set(rows.map((row) => row.version));
    const versions: string[] = [];
    for (const migration of pending) {
      if (applied.has(migration.version)) continue;
      // One statement per query: PGlite's query() takes a single statement.
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [migration.version]);
      versions.push(migration.version);
    }
    return versions;
  });
}

function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement.replace(/--.*$/gm, "").trim() !== "");
}
