import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EmbeddedDatabaseOnDemand,
  isEmbeddedDatabaseBusy,
  openEmbeddedDatabaseOnDemand,
} from "../../src/metadata/embedded-database-on-demand.ts";
import { createPostgresMetadataStore, type MetadataStore } from "../../src/metadata/index.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { runCli } from "../cli/cli-process.ts";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { stageProcessEnvironment } from "../helpers/stage-process-environment.ts";

const IDLE_CLOSE_MS = 1_000;
const MAX_HOLD_MS = 4_000;
const REOPEN_PAUSE_MS = 2_000;
/** How long `openEmbeddedDatabase` (what `generate` uses) keeps trying for the lock: 12 retries, one a second. */
const LOCK_WAIT_WINDOW_MS = 12_000;

let baseDir: string;
let home: string;
let dataDir: string;
let reader: EmbeddedDatabaseOnDemand;
let store: MetadataStore;
let sandbox: SandboxHandle;
const openTimes: number[] = [];

beforeAll(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), "metadata-on-demand-"));
  home = await mkdtemp(path.join(os.tmpdir(), "metadata-on-demand-home-"));
  // Where `generate` puts the embedded database: OUTPUT_DIR/metadata.
  dataDir = path.join(baseDir, "metadata");
  reader = openEmbeddedDatabaseOnDemand({
    dataDir,
    idleCloseMs: IDLE_CLOSE_MS,
    maxHoldMs: MAX_HOLD_MS,
    reopenPauseMs: REOPEN_PAUSE_MS,
    onChange: (change) => {
      if (change.event === "opened") openTimes.push(change.openMs);
    },
  });
  store = createPostgresMetadataStore({ sql: reader.sql });
  // Creates the database (the first open initializes it) and migrates it through the on-demand client.
  await store.migrate();
  sandbox = await startSandbox({ timings: { pendingMs: 200, renderMs: 2_000 } });
});

afterAll(async () => {
  await reader?.close();
  await sandbox?.close();
  if (baseDir) await rm(baseDir, { recursive: true, force: true });
  if (home) await rm(home, { recursive: true, force: true });
});

interface Outcome {
  at: number;
  value?: unknown;
  error?: unknown;
}

/** Calls `probe` every `intervalMs` (as a gallery page polling for progress would) until stopped. */
function pollEvery(intervalMs: number, probe: () => Promise<unknown>) {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        outcomes.push({ at, value: await probe() });
      } catch (error) {
        outcomes.push({ at, error });
      }
      await delay(Math.max(0, intervalMs - (Date.now() - at)));
    }
  })();
  return {
    outcomes,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The generate-like worker: its JSON lines as they come, and its exit. */
function startHolder(holdMs: number, generationId: string) {
  const script = fileURLToPath(new URL("./hold-embedded-worker.ts", import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", script, dataDir, String(holdMs), generationId],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines: Array<Record<string, unknown>> = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      lines.push(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const line = async (key: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = lines.find((entry) => key in entry);
      if (found) return found;
      await delay(50);
    }
    throw new Error(`the worker printed no "${key}" line in ${timeoutMs} ms: ${JSON.stringify(lines)}`);
  };
  return { child, lines, exited, line };
}

async function waitFor(description: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${description}`);
    await delay(25);
  }
  return Date.now() - started;
}

function expectBusy(error: unknown): void {
  expect(isEmbeddedDatabaseBusy(error), String(error)).toBe(true);
  expect(error).toMatchObject({
    name: "EmbeddedDatabaseBusyError",
    code: "embedded_database_busy",
    retryable: true,
  });
  expect((error as Error).message).toContain("video-gen generate");
  expect((error as Error).message).toContain("DATABASE_URL");
}

describe("the embedded database opened on demand", () => {
  it("opens on a query and releases the lock after the idle time", async () => {
    expect(await store.get("nothing-here")).toBeNull();
    expect(reader.isOpen()).toBe(true);
    expect(existsSync(`${dataDir}.lock`)).toBe(true);

    const closedAfter = await waitFor("the idle close", () => !reader.isOpen(), IDLE_CLOSE_MS + 2_000);
    expect(closedAfter).toBeLessThan(IDLE_CLOSE_MS + 1_000);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    // Reopened by the next query (after the pause), and released again.
    expect(await store.get("nothing-here")).toBeNull();
    expect(reader.isOpen()).toBe(true);
    await waitFor("the idle close", () => !reader.isOpen(), IDLE_CLOSE_MS + 2_000);
  });

  it("a generate-like process gets the database while the reader is queried every 500 ms; the reader reads its record after it exits", async () => {
    const generationId = "written-by-the-holder";
    const polling = pollEvery(500, () => store.get(generationId));
    try {
      // The reader holds the database now, and keeps it busy: never idle for a second.
      await waitFor("the reader to open", () => reader.isOpen(), 10_000);
      const holder = startHolder(3_000, generationId);
      const opened = await holder.line("opened", LOCK_WAIT_WINDOW_MS + 15_000);
      expect(opened, JSON.stringify(opened)).toMatchObject({ opened: true });
      // Within the reader's longest hold, plus one retry of the opener and room for a busy machine.
      expect(opened.waitedMs).toBeLessThan(MAX_HOLD_MS + 4_000);
      const openedAt = Date.now();

      await holder.line("closed", 15_000);
      expect(await holder.exited).toBe(0);
      const exitedAt = Date.now();
      // The reader reads again, and sees what the other process wrote.
      await waitFor(
        "a read after the holder exited",
        () => polling.outcomes.some((outcome) => outcome.at > exitedAt && outcome.value),
        MAX_HOLD_MS + REOPEN_PAUSE_MS + 10_000,
      );
      await polling.stop();

      const whileHeld = polling.outcomes.filter(
        (outcome) => outcome.at > openedAt + 100 && outcome.at < exitedAt - 1_000,
      );
      expect(whileHeld.length).toBeGreaterThanOrEqual(2);
      for (const outcome of whileHeld) expectBusy(outcome.error);
      const errors = polling.outcomes.filter((outcome) => outcome.error !== undefined);
      for (const outcome of errors) expectBusy(outcome.error);
      const last = polling.outcomes.at(-1);
      expect(last?.error).toBeUndefined();
      expect(last?.value).toMatchObject({
        generationId,
        request: { prompt: "written while the reader waited" },
      });
    } finally {
      await polling.stop();
    }
  }, 60_000);

  it("fails at once with the busy error while another process holds the database", async () => {
    await waitFor("the reader to close", () => !reader.isOpen(), IDLE_CLOSE_MS + MAX_HOLD_MS + 2_000);
    const holder = startHolder(4_000, "held-for-the-busy-check");
    await holder.line("opened", 30_000);
    // After the reader's reopen pause, so the query tries the lock at once.
    await delay(REOPEN_PAUSE_MS);
    const started = Date.now();
    const error = await store.get("anything").catch((caught: unknown) => caught);
    expectBusy(error);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reader.isOpen()).toBe(false);
    expect(await holder.exited).toBe(0);
    expect(await store.get("held-for-the-busy-check")).toMatchObject({ status: "pending" });
  }, 60_000);

  it("does not lock a real `video-gen generate` on the embedded database out", async () => {
    const generationId = "generated-beside-the-reader";
    const polling = pollEvery(500, () => store.get(generationId));
    try {
      await waitFor("the reader to open", () => reader.isOpen(), 10_000);
      const result = await runCli(
        [
          "generate",
          "--image",
          SAMPLE_IMAGE_PATH,
          "--prompt",
          "beside the gallery",
          "--duration",
          "2",
        ].concat(["--generation-id", generationId, "--json"]),
        // No DATABASE_URL: the embedded database under OUTPUT_DIR/metadata, the one the reader queries.
        stageProcessEnvironment({ home, outputDir: baseDir, databaseUrl: "", sandbox }),
        90_000,
      );
      expect(result.code, result.stderr).toBe(0);
      const exitedAt = Date.now();
      await waitFor(
        "the reader to read the finished generation",
        () => polling.outcomes.some((outcome) => outcome.at > exitedAt && outcome.value),
        MAX_HOLD_MS + REOPEN_PAUSE_MS + 10_000,
      );
      await polling.stop();
      expect(polling.outcomes.at(-1)?.value).toMatchObject({ generationId, status: "succeeded" });
      for (const outcome of polling.outcomes.filter((entry) => entry.error !== undefined))
        expectBusy(outcome.error);
    } finally {
      await polling.stop();
    }
  }, 120_000);

  it("serves concurrent queries from one open, and stays open through a transaction longer than the idle time", async () => {
    await waitFor("the reader to close", () => !reader.isOpen(), IDLE_CLOSE_MS + MAX_HOLD_MS + 2_000);
    const opensBefore = openTimes.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        reader.sql.query<{ n: number }>("select $1::int as n", [index]),
      ),
    );
    expect(results.map((result) => result.rows[0]?.n)).toEqual(
      Array.from({ length: 20 }, (_, index) => index),
    );
    expect(openTimes.length).toBe(opensBefore + 1);

    const value = await reader.sql.transaction(async (tx) => {
      await tx.query("select 1");
      await delay(IDLE_CLOSE_MS + 500);
      expect(reader.isOpen()).toBe(true);
      const { rows } = await tx.query<{ n: number }>("select 2 as n");
      return rows[0]?.n;
    });
    expect(value).toBe(2);
    expect(openTimes.length).toBe(opensBefore + 1);
  });

  it("closes for good: the lock is released and later queries fail", async () => {
    await store.get("anything");
    await reader.close();
    expect(reader.isOpen()).toBe(false);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    await expect(store.get("anything")).rejects.toMatchObject({ code: "database_closed" });
    // It was opened anew for each period of queries (PGlite starts its Postgres each time): told through onChange.
    expect(openTimes.length).toBeGreaterThanOrEqual(4);
    for (const openMs of openTimes.slice(1)) expect(openMs).toBeLessThan(MAX_HOLD_MS);
  });
});
