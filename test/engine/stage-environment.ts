import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type MetadataStore,
} from "../../src/metadata/index.ts";
import { type SandboxHandle, type SandboxOptions, startSandbox } from "../../src/sandbox/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { stageProcessEnvironment } from "../helpers/stage-process-environment.ts";

/** Directory of the repository's fixtures: served workers read local reference images only under it. */
export const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/", import.meta.url));

/**
 * What the workers of one suite share: the DashScope sandbox (in the test process), a PostgreSQL database of their
 * own, a temp OUTPUT_DIR; and the test's view of the metadata store for assertions.
 */
export interface StageEnvironment {
  sandbox: SandboxHandle;
  databaseUrl: string;
  outputDir: string;
  /** The stage's records as the workers write them (same database). */
  metadataStore: MetadataStore;
  /** Variables of a `video-gen serve` process pointed at all of it; `overrides` replace, "" unsets. */
  workerEnvironment(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startStageEnvironment(
  options: {
    sandbox?: SandboxOptions;
    /** Admin URL of the PostgreSQL server; default the test setup's (outside Vitest, e.g. in a benchmark, pass one). */
    postgresUrl?: string;
  } = {},
): Promise<StageEnvironment> {
  const sandbox = await startSandbox({ timings: { pendingMs: 300, renderMs: 2_000 }, ...options.sandbox });
  const outputDir = await mkdtemp(path.join(tmpdir(), "video-gen-engine-"));
  // An empty home: no ~/.alibabacloud/credentials of the machine can leak into a worker.
  const home = await mkdtemp(path.join(tmpdir(), "video-gen-engine-home-"));
  const database = await createTestDatabase(options.postgresUrl ?? inject("postgresUrl"));
  const sql = createPgSqlClient({ connectionString: database.url, max: 3 });
  const metadataStore = createPostgresMetadataStore({ sql });
  // Migrated here, before any worker starts, so the suite can read the store at once.
  await metadataStore.migrate();
  return {
    sandbox,
    databaseUrl: database.url,
    outputDir,
    metadataStore,
    workerEnvironment: (overrides = {}) =>
      stageProcessEnvironment(
        { home, outputDir, databaseUrl: database.url, sandbox },
        { REFERENCE_IMAGE_ROOT: FIXTURES_DIR, ...overrides },
      ),
    async close() {
      await metadataStore.close();
      await sandbox.close();
      await database.drop().catch(() => {});
      await rm(outputDir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    },
  };
}
