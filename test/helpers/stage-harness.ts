import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { composeStage, type StageRuntime } from "../../src/compose-stage.ts";
import { loadConfig } from "../../src/config.ts";
import type {
  StageSettings,
  VideoGenerateDependencies,
} from "../../src/functions/video-generate-dependencies.ts";
import { createScaledClock } from "../../src/runner/runner-clock.ts";
import { type SandboxHandle, type SandboxOptions, startSandbox } from "../../src/sandbox/index.ts";
import { createTestDatabase } from "./postgres-cluster.ts";

/** The demo's reference image, shipped in the repository (1280x720 JPEG). */
export const SAMPLE_IMAGE_PATH = fileURLToPath(
  new URL("../../fixtures/sample-reference.jpg", import.meta.url),
);

export interface StageHarness {
  sandbox: SandboxHandle;
  runtime: StageRuntime;
  dependencies: VideoGenerateDependencies;
  outputDir: string;
  close(): Promise<void>;
}

/**
 * The whole stage wired as in production (`loadConfig` + `composeStage`): the real DashScope client over HTTP against
 * the sandbox, the local video directory in a temp dir, and a fresh database on the test PostgreSQL server.
 */
export async function startStageHarness(
  options: {
    sandbox?: SandboxOptions;
    settings?: Partial<StageSettings>;
    environment?: Record<string, string>;
  } = {},
): Promise<StageHarness> {
  const sandbox = await startSandbox({
    timings: { pendingMs: 200, renderMs: 300 },
    // The stage's sleeps run up to 50x faster in these tests, so its polls would exceed the account's 20 QPS, which
    // the sandbox enforces in real time; a test of that limit passes its own value.
    taskQueriesPerSecond: 1_000,
    ...options.sandbox,
  });
  const outputDir = await mkdtemp(path.join(tmpdir(), "video-gen-stage-"));
  const database = await createTestDatabase(inject("postgresUrl"));
  const config = loadConfig({
    DASHSCOPE_API_KEY: sandbox.apiKey,
    DASHSCOPE_HTTP_BASE_URL: sandbox.baseUrl,
    OUTPUT_DIR: outputDir,
    DATABASE_URL: database.url,
    VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
    VIDEO_GEN_RENDER_ESTIMATE_S: "1",
    ...options.environment,
  });
  const runtime = await composeStage(config, { localImages: "any" });
  Object.assign(runtime.dependencies.settings, options.settings);
  return {
    sandbox,
    runtime,
    dependencies: runtime.dependencies,
    outputDir,
    async close() {
      await runtime.close();
      await database.drop();
      await sandbox.close();
      await rm(outputDir, { recursive: true, force: true });
    },
  };
}

/** A request for the sample image; `overrides` replace fields. */
export function sampleRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    prompt: "waves roll in at sunset, a small sailboat drifts",
    reference_image: SAMPLE_IMAGE_PATH,
    duration: 2,
    ...overrides,
  };
}

/** Real time divided by `factor`: sleeps of the poll schedule pass quickly while the sandbox keeps real time. */
export const acceleratedClock = createScaledClock;
