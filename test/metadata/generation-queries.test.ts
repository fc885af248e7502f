import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGenerationQueries } from "../../src/metadata/generation-queries.ts";
import {
  createPgliteSqlClient,
  createPgSqlClient,
  loadMigrations,
  migrate,
  type SqlClient,
} from "../../src/metadata/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { describeGenerationQueries, FIXTURES, insertGenerations } from "./generation-queries-suite.ts";

describe("gallery queries on PostgreSQL", () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: SqlClient;

  beforeAll(async () => {
    database = await createTestDatabase(inject("postgresUrl"));
    sql = createPgSqlClient({ connectionString: database.url });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.close();
    await database?.drop();
  });

  describeGenerationQueries(() => ({ sql }));

  it("fills the search columns of rows recorded before the migration", async () => {
    const fresh = await createTestDatabase(inject("postgresUrl"));
    const client = createPgSqlClient({ connectionString: fresh.url, max: 1 });
    try {
      const migrations = await loadMigrations();
      await migrate(
        client,
        migrations.filter((migration) => migration.version < "005"),
      );
      await insertGenerations(client, FIXTURES);
      expect(await migrate(client)).toContain("005-gallery-search");
      const queries = createGenerationQueries({ sql: client });
      const ids = async (query: Parameters<typeof queries.page>[0]) =>
        (await queries.page(query)).records.map((record) => record.generationId);
      expect(await ids({ seed: 5 })).toEqual(["g11", "g09", "g08"]);
      expect(await ids({ promptText: "neon" })).toEqual(["g06"]);
    } finally {
      await client.close();
      await fresh.drop();
    }
  });
});

describe("gallery queries on the embedded PGlite", () => {
  let sql: SqlClient;

  beforeAll(async () => {
    sql = createPgliteSqlClient(await PGlite.create());
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.close();
  });

  describeGenerationQueries(() => ({ sql }));
});
