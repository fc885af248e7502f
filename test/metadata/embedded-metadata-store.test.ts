import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPostgresMetadataStore,
  type EmbeddedDatabase,
  type MetadataStore,
  openEmbeddedDatabase,
} from "../../src/metadata/index.ts";
import { describeMetadataStoreContract } from "./metadata-store-suite.ts";

const run = promisify(execFile);

// One PGlite instance for the whole file: each costs about 2 s and several hundred MB.
let baseDir: string;
let dataDir: string;
let database: EmbeddedDatabase;
let store: MetadataStore;

beforeAll(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), "metadata-embedded-"));
  dataDir = path.join(baseDir, "metadata");
  database = await openEmbeddedDatabase({ dataDir });
  store = createPostgresMetadataStore({ sql: database.sql });
  await store.migrate();
});

afterAll(async () => {
  await database?.close();
  if (baseDir) await rm(baseDir, { recursive: true, force: true });
});

describe("embedded (PGlite) metadata store", () => {
  describeMetadataStoreContract(() => ({
    store,
    sql: database.sql,
    // PGlite has one connection per instance; racing calls are serialised inside it.
    concurrentStore: async () => store,
  }));

  describe("directory lock", () => {
    it("refuses a second process with a message that says what to do", async () => {
      const outcome = await openInChildProcess(dataDir);
      expect(outcome).toMatchObject({
        opened: false,
        name: "ConfigurationError",
        code: "embedded_database_locked",
      });
      expect(outcome.message).toContain(`Another process uses the embedded metadata database at ${dataDir}`);
      expect(outcome.message).toContain("set DATABASE_URL to a PostgreSQL server");
    });

    it("releases the lock on close, takes over a stale lock, and keeps what was committed", async () => {
      const generationId = "gen-survives-reopen";
      await store.upsertGeneration({
        generationId,
        request: { prompt: "kept" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: null,
      });
      await store.close();
      await database.close();

      expect(existsSync(`${dataDir}.lock`)).toBe(false);

      // A lock left behind by a killed process (not refreshed for a minute) is taken over.
      await mkdir(`${dataDir}.lock`);
      const aMinuteAgo = new Date(Date.now() - 60_000);
      await utimes(`${dataDir}.lock`, aMinuteAgo, aMinuteAgo);
      database = await openEmbeddedDatabase({ dataDir });
      store = createPostgresMetadataStore({ sql: database.sql });
      expect(existsSync(`${dataDir}.lock`)).toBe(true);
      await store.migrate();
      expect(await store.get(generationId)).toMatchObject({ request: { prompt: "kept" }, status: "pending" });
    });
  });
});

async function openInChildProcess(
  directory: string,
): Promise<{ opened: boolean; name?: string; code?: string; message?: string }> {
  const script = fileURLToPath(new URL("./open-embedded-worker.ts", import.meta.url));
  const { stdout } = await run(process.execPath, ["--import", "tsx", script, directory], { timeout: 60_000 });
  return JSON.parse(stdout);
}
