import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ClaimResult, MetadataStore, SqlClient } from "../../src/metadata/index.ts";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  loadMigrations,
  migrate,
} from "../../src/metadata/index.ts";
import {
  createTestDatabase,
  type PostgresCluster,
  startPostgresCluster,
} from "../helpers/postgres-cluster.ts";
import { describeMetadataStoreContract, response } from "./metadata-store-suite.ts";

let database: { url: string; drop(): Promise<void> };
let store: MetadataStore;
let sql: SqlClient;
const extraStores: MetadataStore[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  sql = createPgSqlClient({ connectionString: database.url });
  store = createPostgresMetadataStore({ sql });
  await store.migrate();
});

afterAll(async () => {
  await Promise.all([...extraStores, store].map((each) => each?.close()));
  await database?.drop();
});

describe("PostgreSQL metadata store", () => {
  describeMetadataStoreContract(() => ({
    store,
    sql,
    async concurrentStore(connections) {
      const racing = createPostgresMetadataStore({
        sql: createPgSqlClient({ connectionString: database.url, max: connections }),
      });
      extraStores.push(racing);
      return racing;
    },
  }));

  it("migrates once when two processes start at the same time", async () => {
    const fresh = await createTestDatabase(inject("postgresUrl"));
    const clients = [0, 1].map(() => createPgSqlClient({ connectionString: fresh.url, max: 1 }));
    try {
      const shipped = (await loadMigrations()).map((migration) => migration.version);
      const applied = await Promise.all(clients.map((client) => migrate(client)));
      // One process applied every migration, the other none.
      expect(applied.flat()).toEqual(shipped);
      expect(applied.some((versions) => versions.length === 0)).toBe(true);
      const { rows } = await clients[0]!.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM schema_migrations",
      );
      expect(rows[0]?.count).toBe(shipped.length);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await fresh.drop();
    }
  });

  it("lets exactly one claimant win across two processes", async () => {
    await sql.query("TRUNCATE generations, provider_slots");
    const key = `key-${randomUUID()}`;
    const ids = Array.from({ length: 30 }, () => `gen-${randomUUID()}`);
    for (const generationId of ids) {
      await store.upsertGeneration({
        generationId,
        request: {},
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: null,
      });
    }
    const workers = [ids.slice(0, 10), ids.slice(10, 20)].map((part) => startClaimWorker(key, part));
    try {
      await Promise.all(workers.map((worker) => worker.ready));
      for (const worker of workers) worker.child.stdin?.write("go\n");
      const [local, ...remote] = await Promise.all([
        Promise.all(
          ids
            .slice(20)
            .map((generationId) =>
              store.claim({ generationId, cacheKey: key, imageSha256: "img", warnings: [] }),
            ),
        ),
        ...workers.map((worker) => worker.results),
      ]);
      const results = [...local, ...remote.flat()];
      expect(results).toHaveLength(30);
      const claimed = results.filter((result) => result.outcome === "claimed");
      expect(claimed).toHaveLength(1);
      const owners = new Set(
        results.flatMap((result) => (result.outcome === "attached" ? [result.owner.generationId] : [])),
      );
      expect(owners.size).toBe(1);
      const [owner] = owners;
      expect((await store.get(owner!))?.status).toBe("pending");
    } finally {
      for (const worker of workers) worker.child.kill();
    }
  });

  it("fails retryably while the server is down and recovers with the same store", async () => {
    let cluster: PostgresCluster | undefined;
    let restartStore: MetadataStore | undefined;
    try {
      cluster = await startPostgresCluster();
      restartStore = createPostgresMetadataStore({
        sql: createPgSqlClient({ connectionString: cluster.url, max: 2, connectionTimeoutMillis: 2_000 }),
      });
      await restartStore.migrate();
      const generationId = `gen-${randomUUID()}`;
      await restartStore.upsertGeneration({
        generationId,
        request: { prompt: "before restart" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: null,
      });
      await restartStore.recordSubmitted(generationId, { taskId: `task-${generationId}` });
      // Two pooled connections stay idle and are cut by the shutdown: their `error` events must not crash us.
      await Promise.all([restartStore.countSlots(), restartStore.countSlots()]);

      await cluster.stop();
      await expect(restartStore.get(generationId)).rejects.toMatchObject({
        name: "StorageError",
        code: "database_unavailable",
        retryable: true,
      });
      await expect(
        restartStore.acquireSlot("holder", { limit: 5, leaseMs: 60_000, staleWaiterMs: 60_000 }),
      ).rejects.toMatchObject({
        code: "database_unavailable",
        retryable: true,
      });

      await cluster.start();
      expect(await restartStore.get(generationId)).toMatchObject({
        status: "submitted",
        taskId: `task-${generationId}`,
        request: { prompt: "before restart" },
      });
      await restartStore.recordSucceeded(generationId, response(generationId));
      expect(
        await restartStore.acquireSlot("holder", { limit: 5, leaseMs: 60_000, staleWaiterMs: 60_000 }),
      ).toEqual({
        acquired: true,
      });
      expect((await restartStore.get(generationId))?.status).toBe("succeeded");
    } finally {
      await restartStore?.close();
      await cluster?.destroy();
    }
  });
});

function startClaimWorker(cacheKey: string, generationIds: string[]) {
  const script = fileURLToPath(new URL("./claim-worker.ts", import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", script, database.url, cacheKey, generationIds.join(",")],
    { stdio: ["pipe", "pipe", "inherit"], timeout: 60_000 },
  );
  const lines = readLines(child);
  const ready = lines.next().then((line) => {
    if (line.value !== "ready") throw new Error(`claim worker did not start: ${line.value}`);
  });
  const results = ready.then(async () => {
    const line = await lines.next();
    return JSON.parse(String(line.value)) as ClaimResult[];
  });
  return { child, ready, results };
}

async function* readLines(child: ChildProcess): AsyncGenerator<string> {
  let buffered = "";
  child.stdout?.setEncoding("utf8");
  const exited = once(child, "exit");
  for await (const chunk of child.stdout ?? []) {
    buffered += chunk;
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  const [code] = await exited;
  throw new Error(`claim worker exited with ${code} before answering`);
}
