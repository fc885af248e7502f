import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inject } from "vitest";
import { type SandboxHandle, type SandboxOptions, startSandbox } from "../../src/sandbox/index.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { stageProcessEnvironment } from "../helpers/stage-process-environment.ts";

/** A sandbox in the test process, a fresh database and a temp OUTPUT_DIR, shared by the CLI processes of one file. */
export interface CliFixture {
  sandbox: SandboxHandle;
  outputDir: string;
  databaseUrl: string;
  /** The environment of a CLI process pointed at all of it; `overrides` replace (or, with "", unset) variables. */
  environment(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startCliFixture(options: { sandbox?: SandboxOptions } = {}): Promise<CliFixture> {
  const sandbox = await startSandbox({ timings: { pendingMs: 200, renderMs: 300 }, ...options.sandbox });
  const outputDir = await mkdtemp(path.join(tmpdir(), "video-gen-cli-"));
  // An empty home: no ~/.alibabacloud/credentials of the machine can leak into a test.
  const home = await mkdtemp(path.join(tmpdir(), "video-gen-home-"));
  const database = await createTestDatabase(inject("postgresUrl"));
  return {
    sandbox,
    outputDir,
    databaseUrl: database.url,
    environment: (overrides = {}) =>
      stageProcessEnvironment({ home, outputDir, databaseUrl: database.url, sandbox }, overrides),
    async close() {
      await sandbox.close();
      await database.drop();
      await rm(outputDir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    },
  };
}
