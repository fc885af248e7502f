import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGenerationQueries } from "../../src/metadata/generation-queries.ts";
import { createPgSqlClient, migrate, type SqlClient } from "../../src/metadata/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { insertGenerations } from "./generation-queries-suite.ts";

describe("the generation of a provider task (the push route's lookup)", () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: SqlClient;

  beforeAll(async () => {
    database = await createTestDatabase(inject("postgresUrl"));
    sql = createPgSqlClient({ connectionString: database.url });
    await migrate(sql);
    await insertGenerations(sql, [
      { id: "g-running", status: "submitted", createdAt: "2026-12-01T10:00:00Z", prompt: "a" },
      { id: "g-done", status: "succeeded", createdAt: "2026-12-01T10:01:00Z", prompt: "b" },
    ]);
    await sql.query("UPDATE generations SET task_id = 'task-1' WHERE generation_id = 'g-running'");
    await sql.query("UPDATE generations SET task_id = 'task-2' WHERE generation_id = 'g-done'");
  });
  afterAll(async () => {
    await sql?.close();
    await database?.drop();
  });

  it("finds the generation and its status by task id; a task of another client is null", async () => {
    const queries = createGenerationQueries({ sql });
    expect(await queries.generationIdOfTask("task-1")).toEqual({
      generationId: "g-running",
      status: "submitted",
    });
    expect(await queries.generationIdOfTask("task-2")).toEqual({
      generationId: "g-done",
      status: "succeeded",
    });
    expect(await queries.generationIdOfTask("task-unknown")).toBeNull();
  });
});
