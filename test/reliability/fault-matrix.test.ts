import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import { cleanUpGeneration } from "../../src/functions/clean-up-generation.ts";
import type { StageContext, StageStepTools } from "../../src/functions/stage-context.ts";
import type { StageSettings } from "../../src/functions/video-generate-dependencies.ts";
import { runVideoGeneration } from "../../src/functions/video-generate-handler.ts";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import { type GenerationOutcome, generateInProcess } from "../../src/runner/generate-in-process.ts";
import {
  type InProcessRunOptions,
  type RunnerStepEvent,
  runInProcess,
} from "../../src/runner/in-process-runner.ts";
import type { SandboxOptions } from "../../src/sandbox/index.ts";
import { CLI_NODE_ARGUMENTS } from "../cli/cli-process.ts";
import { createTestDatabase, startPostgresCluster } from "../helpers/postgres-cluster.ts";
import { describeOutcome, type MatrixRow, tallyRuns, writeMatrix } from "../helpers/reliability-checks.ts";
import { startTcpProxy } from "../helpers/reliability-tcp-proxy.ts";
import { s3TestTarget } from "../helpers/s3-test-target.ts";
import {
  acceleratedClock,
  SAMPLE_IMAGE_PATH,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";

/**
 * The fault matrix: one case per fault, each run through the in-process runner against the sandbox and real stores,
 * and each judged on the same four things: the outcome, provider tasks created (never more than one per distinct
 * request), results lost (zero) and budget slots leaked (zero). With RECORD_RESULTS=1 (`npm run reliability`) the rows
 * are written to bench/results/fault-matrix.* for docs/reliability.md; a plain `npm test` leaves the tree untouched.
 */

const rows: MatrixRow[] = [];
afterAll(async () => {
  if (rows.length > 0 && process.env.RECORD_RESULTS === "1") await writeMatrix("fault-matrix", rows);
});

/** Sleeps of the poll schedule pass 50× faster; the sandbox keeps real time. */
const fast = acceleratedClock(50);
/** For cases where a dependency is down for seconds: step retry backoffs (1, 2, 4 … s) must outlast the outage. */
const patient = acceleratedClock(5);

interface CaseInput {
  name: string;
  expected: string;
  sandbox?: SandboxOptions;
  settings?: Partial<StageSettings>;
  environment?: Record<string, string>;
  /** Runs the case's requests; returns their outcomes and how many distinct requests they were. */
  run(
    harness: StageHarness,
  ): Promise<{ outcomes: GenerationOutcome[]; distinctRequests: number; note?: string }>;
  /** Extra assertions of the case. */
  check?(harness: StageHarness, outcomes: GenerationOutcome[]): Promise<void> | void;
  cleanup?(): Promise<void>;
}

/** Runs one case on its own harness, asserts the four invariants and records the row. */
async function runCase(input: CaseInput): Promise<MatrixRow> {
  const harness = await startStageHarness({
    sandbox: input.sandbox,
    settings: input.settings,
    environment: input.environment,
  });
  try {
    const startedAt = performance.now();
    const { outcomes, distinctRequests, note } = await input.run(harness);
    const durationMs = performance.now() - startedAt;
    const tally = await tallyRuns({
      outcomes,
      sandbox: harness.sandbox,
      objectStore: harness.dependencies.objectStore,
      metadataStore: harness.dependencies.metadataStore,
    });
    const outcome = [...new Set(outcomes.map(describeOutcome))].join(", ");
    const row: MatrixRow = {
      case: input.name,
      outcome,
      expected: input.expected,
      distinctRequests,
      durationMs,
      ...tally,
    };
    if (note) row.note = note;
    rows.push(row);
    expect(outcome).toBe(input.expected);
    expect(tally.tasksCreated).toBeLessThanOrEqual(distinctRequests);
    expect(tally.leakedSlots).toBe(0);
    await input.check?.(harness, outcomes);
    return row;
  } finally {
    await harness.close();
    await input.cleanup?.();
  }
}

const once = (request: Record<string, unknown>, harness: StageHarness, options: InProcessRunOptions = {}) =>
  generateInProcess(request, harness.dependencies, { clock: fast, ...options });

describe("fault matrix: provider faults", () => {
  it("429 bursts on submit are absorbed (4 identical requests, 6 throttled submits)", async () => {
    const row = await runCase({
      name: "429 burst on submit (4 identical requests)",
      expected: "succeeded",
      async run(harness) {
        harness.sandbox.faults.inject({ route: "submit", kind: "throttle", times: 6 });
        const outcomes = await Promise.all(
          [1, 2, 3, 4].map((n) => once(sampleRequest({ generation_id: `burst-${n}` }), harness)),
        );
        return { outcomes, distinctRequests: 1 };
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("5xx and resets on status are retried without a second task", async () => {
    const row = await runCase({
      name: "5xx and resets on status",
      expected: "succeeded",
      async run(harness) {
        harness.sandbox.faults.inject({ route: "status", kind: "server-error", times: 2 });
        harness.sandbox.faults.inject({ route: "status", kind: "unavailable", times: 1 });
        harness.sandbox.faults.inject({ route: "status", kind: "reset", times: 2 });
        return { outcomes: [await once(sampleRequest(), harness)], distinctRequests: 1 };
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("a submit whose response is lost after the task was created is adopted, not repeated", async () => {
    const row = await runCase({
      name: "submit response lost after the task was created",
      expected: "succeeded",
      async run(harness) {
        harness.sandbox.faults.inject({ route: "submit", kind: "reset-after-create", times: 1 });
        return {
          outcomes: [await once(sampleRequest({ generation_id: "adopt-1" }), harness)],
          distinctRequests: 1,
        };
      },
      async check(harness, outcomes) {
        const [outcome] = outcomes;
        expect(outcome?.status === "succeeded" && outcome.response.task_id).toBe(
          harness.sandbox.tasks()[0]?.taskId,
        );
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("a connection reset mid-download is retried by the copy step", async () => {
    const row = await runCase({
      name: "connection reset mid-download",
      expected: "succeeded",
      async run(harness) {
        harness.sandbox.faults.inject({ route: "download", kind: "reset-midway", times: 2 });
        return { outcomes: [await once(sampleRequest(), harness)], distinctRequests: 1 };
      },
      check(harness) {
        // Two cut downloads, then the one that completed.
        expect(harness.sandbox.stats().downloads).toBeGreaterThanOrEqual(3);
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("a result URL expired before the copy ends the run with a clear code and no resubmission", async () => {
    const row = await runCase({
      name: "result URL expired before the copy",
      expected: "failed: download_gone",
      async run(harness) {
        const outcome = await once(sampleRequest({ generation_id: "expired-url" }), harness, {
          onStep: (event) => {
            // The task SUCCEEDED (the last poll saw it); its URL expires before the copy fetches it.
            if (event.kind === "step-started" && event.id === "copy" && event.attempt === 0)
              harness.sandbox.faults.expireResults();
          },
        });
        return {
          outcomes: [outcome],
          distinctRequests: 1,
          note: "the provider's 24 h result URL expired before the copy: the rendered (billed) video is gone and counts as lost; resubmitting would bill a second render, so the run fails with download_gone and the record says so",
        };
      },
      async check(harness) {
        expect(await harness.dependencies.metadataStore.get("expired-url")).toMatchObject({
          status: "failed",
          errorCode: "download_gone",
        });
      },
    });
    // Honest count: the provider's expiry loses the one video, and no second task is created to make up for it.
    expect(row).toMatchObject({ tasksCreated: 1, lost: 1 });
  });

  it("a duplicate of a request still queued behind the budget waits for it instead of timing out", async () => {
    // Budget 1: A renders while B waits for the slot; B', identical to B, waits for B. B' may not give up before B
    // could: B's own deadline only starts at its submit. (The load benchmark hit this with 200 requests.)
    const slow = acceleratedClock(10);
    const row = await runCase({
      name: "duplicate of a request queued behind the budget",
      expected: "succeeded",
      sandbox: { timings: { pendingMs: 200, renderMs: 1_300 } },
      settings: { budget: 1, deadlineMs: 20_000 },
      async run(harness) {
        const a = generateInProcess(
          sampleRequest({ generation_id: "queue-a", prompt: "first in line" }),
          harness.dependencies,
          { clock: slow },
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        const b = generateInProcess(
          sampleRequest({ generation_id: "queue-b", prompt: "second in line" }),
          harness.dependencies,
          { clock: slow },
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        const duplicate = generateInProcess(
          sampleRequest({ generation_id: "queue-b-again", prompt: "second in line" }),
          harness.dependencies,
          {
            clock: slow,
          },
        );
        return { outcomes: await Promise.all([a, b, duplicate]), distinctRequests: 2 };
      },
    });
    expect(row).toMatchObject({ tasksCreated: 2, lost: 0 });
  });

  it("FAILED task ends with the provider's code", async () => {
    const row = await runCase({
      name: "task FAILED (DataInspectionFailed)",
      expected: "failed: DataInspectionFailed",
      async run(harness) {
        harness.sandbox.faults.failNextTasks({
          code: "DataInspectionFailed",
          message: "Output data may contain inappropriate content.",
        });
        return { outcomes: [await once(sampleRequest(), harness)], distinctRequests: 1 };
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("a task canceled from elsewhere ends the run as canceled", async () => {
    const row = await runCase({
      name: "task CANCELED from elsewhere (video-gen cancel)",
      expected: "canceled",
      sandbox: { timings: { pendingMs: 60_000, renderMs: 300 } },
      async run(harness) {
        const { provider, metadataStore } = harness.dependencies;
        let canceled: Promise<unknown> | undefined;
        const outcome = await once(sampleRequest({ generation_id: "canceled-elsewhere" }), harness, {
          onStep: (event) => {
            if (event.kind === "step-completed" && event.id === "submit") {
              canceled = cleanUpGeneration({
                generationId: "canceled-elsewhere",
                ending: { kind: "canceled", reason: "canceled from another process" },
                provider,
                metadataStore,
                settings: harness.dependencies.settings,
              });
            }
          },
        });
        await canceled;
        return { outcomes: [outcome], distinctRequests: 1 };
      },
      async check(harness) {
        expect(harness.sandbox.tasks()[0]?.status).toBe("CANCELED");
        expect(await harness.dependencies.metadataStore.get("canceled-elsewhere")).toMatchObject({
          status: "canceled",
        });
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("an UNKNOWN (expired) task is terminal", async () => {
    const row = await runCase({
      name: "task UNKNOWN (expired at the provider)",
      expected: "failed: task_expired",
      sandbox: { taskTtlMs: 150 },
      async run(harness) {
        return { outcomes: [await once(sampleRequest(), harness)], distinctRequests: 1 };
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("a task PENDING past the deadline is canceled at the provider", async () => {
    const row = await runCase({
      name: "task stuck PENDING past the deadline",
      expected: "failed: deadline_exceeded",
      sandbox: { timings: { pendingMs: 600_000, renderMs: 300 } },
      settings: { deadlineMs: 20_000 },
      async run(harness) {
        return { outcomes: [await once(sampleRequest(), harness)], distinctRequests: 1 };
      },
      check(harness) {
        expect(harness.sandbox.tasks()[0]?.status).toBe("CANCELED");
        expect(harness.sandbox.stats().cancels).toBe(1);
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });
});

describe("fault matrix: storage and database outages", () => {
  it("S3 unreachable for 2 s during the copy, then back: the copy retries and succeeds", async () => {
    const target = s3TestTarget();
    const endpoint = new URL(target.endpoint);
    const proxy = await startTcpProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
    let outage: Promise<void> | undefined;
    const row = await runCase({
      name: "S3 unavailable for 2 s during the copy",
      expected: "succeeded",
      environment: {
        S3_BUCKET: target.bucket,
        S3_ENDPOINT: proxy.url,
        S3_REGION: target.region,
        S3_PREFIX: target.prefix,
        AWS_ACCESS_KEY_ID: target.accessKeyId,
        AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
      },
      async run(harness) {
        const retried: string[] = [];
        const outcome = await generateInProcess(sampleRequest(), harness.dependencies, {
          clock: patient,
          onStep: (event) => {
            if (event.kind === "step-started" && event.id === "copy" && event.attempt === 0) {
              outage = proxy
                .down()
                .then(
                  () =>
                    new Promise<void>((resolve) => setTimeout(() => void proxy.up().then(resolve), 2_000)),
                );
            }
            if (event.kind === "step-retrying") retried.push(event.id);
          },
        });
        await outage;
        expect(retried).toContain("copy");
        return {
          outcomes: [outcome],
          distinctRequests: 1,
          note: `copy attempts retried: ${retried.filter((id) => id === "copy").length}`,
        };
      },
      async cleanup() {
        await outage;
        await proxy.close();
        target.client.destroy();
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });

  it("PostgreSQL restarted mid-run (stopped after submit, started 3 s later): the run continues with one task", async () => {
    const cluster = await startPostgresCluster();
    const database = await createTestDatabase(cluster.url);
    let restart: Promise<void> | undefined;
    const row = await runCase({
      name: "PostgreSQL restarted mid-run",
      expected: "succeeded",
      environment: { DATABASE_URL: database.url },
      sandbox: { timings: { pendingMs: 500, renderMs: 1_500 } },
      async run(harness) {
        const outcome = await generateInProcess(
          sampleRequest({ generation_id: "pg-restart" }),
          harness.dependencies,
          {
            clock: patient,
            onStep: (event) => {
              if (event.kind === "step-completed" && event.id === "submit") {
                restart = cluster
                  .stop()
                  .then(
                    () =>
                      new Promise<void>((resolve) =>
                        setTimeout(() => void cluster.start().then(resolve), 3_000),
                      ),
                  );
              }
            },
          },
        );
        await restart;
        return { outcomes: [outcome], distinctRequests: 1 };
      },
      async cleanup() {
        await restart?.catch(() => undefined);
        await cluster.destroy();
      },
    });
    expect(row).toMatchObject({ tasksCreated: 1, lost: 0 });
  });
});

/** Wraps the handler so every step result is also kept in `journal`, as Inngest's state would hold it. */
function journaling(harness: StageHarness, journal: Map<string, unknown>, killed: AbortSignal) {
  return (context: StageContext) => {
    const inner = context.step;
    // A dead process runs nothing more, not even the event send the runner itself does not guard.
    const step: StageStepTools = {
      async run(id, body) {
        killed.throwIfAborted();
        const value = await inner.run(id, body);
        journal.set(id, value === undefined ? null : JSON.parse(JSON.stringify(value)));
        return value;
      },
      async sleep(id, durationMs) {
        killed.throwIfAborted();
        await inner.sleep(id, durationMs);
        journal.set(id, null);
      },
      async waitForGenerationEvent(id, options) {
        killed.throwIfAborted();
        const value = await inner.waitForGenerationEvent(id, options);
        journal.set(id, value);
        return value;
      },
      async sendEvent(id, payload) {
        // A dead process sends nothing and never learns how its send ended.
        if (killed.aborted) return new Promise<never>(() => undefined);
        const value = await inner.sendEvent(id, payload);
        journal.set(id, value);
        return value;
      },
    };
    return runVideoGeneration(
      Object.create(context, { step: { value: step } }) as StageContext,
      harness.dependencies,
    );
  };
}

/** Where the first process dies: after a step completed, or just before one started. */
const BOUNDARIES: ReadonlyArray<{ label: string; at: (event: RunnerStepEvent) => boolean }> = [
  ...["validate", "resolve-image", "cache-check", "claim", "slot-0", "submit", "poll-0"].map((id) => ({
    label: `after ${id}`,
    at: (event: RunnerStepEvent) => event.kind === "step-completed" && event.id === id,
  })),
  {
    label: "after the last poll (before copy)",
    at: (event) => event.kind === "step-started" && event.id === "copy",
  },
  { label: "after copy", at: (event) => event.kind === "step-completed" && event.id === "copy" },
  { label: "after persist", at: (event) => event.kind === "step-completed" && event.id === "persist" },
];

describe("fault matrix: process killed at every step boundary", () => {
  it("durable replay: killed after each step, resumed with the journal, makes exactly one task per request", async () => {
    const startedAt = performance.now();
    const harness = await startStageHarness({ sandbox: { timings: { pendingMs: 200, renderMs: 600 } } });
    try {
      for (const [index, boundary] of BOUNDARIES.entries()) {
        const caseStart = performance.now();
        const sinceTask = harness.sandbox.tasks().length;
        const request = sampleRequest({
          generation_id: `killed-${index}`,
          prompt: `killed at boundary ${index}`,
        });
        const journal = new Map<string, unknown>();
        const killer = new AbortController();
        let killed = false;
        const first = runInProcess(
          journaling(harness, journal, killer.signal),
          { name: EVENT_NAMES.requested, data: request },
          {
            clock: fast,
            runId: `run-killed-${index}`,
            signal: killer.signal,
            onStep: (event) => {
              if (!killed && boundary.at(event)) {
                killed = true;
                killer.abort(new Error("SIGKILL"));
              }
            },
          },
        );
        // The first process is dead: it either failed on the kill or hangs in a send that never returns.
        const ended = await Promise.race([
          first.then(
            () => "completed",
            (error: unknown) => String(error),
          ),
          new Promise<string>((resolve) => setTimeout(() => resolve("dead"), 2_000)),
        ]);
        expect(ended).toMatch(/SIGKILL|dead/);
        const resumed = await generateInProcess(request, harness.dependencies, {
          clock: fast,
          runId: `run-killed-${index}`,
          memoized: journal,
        });
        const tally = await tallyRuns({
          outcomes: [resumed],
          sandbox: harness.sandbox,
          objectStore: harness.dependencies.objectStore,
          metadataStore: harness.dependencies.metadataStore,
          sinceTask,
        });
        rows.push({
          case: `killed ${boundary.label}, replayed`,
          outcome: describeOutcome(resumed),
          expected: "succeeded",
          distinctRequests: 1,
          durationMs: performance.now() - caseStart,
          ...tally,
        });
        expect({ boundary: boundary.label, outcome: describeOutcome(resumed), ...tally }).toEqual({
          boundary: boundary.label,
          outcome: "succeeded",
          tasksCreated: 1,
          lost: 0,
          leakedSlots: 0,
        });
      }
    } finally {
      await harness.close();
    }
    expect(performance.now() - startedAt).toBeLessThan(90_000);
  }, 120_000);

  it("CLI resume: `video-gen generate` killed with SIGKILL mid-render, the same command rerun, makes one task", async () => {
    const outputDir = await mkdtemp(path.join(tmpdir(), "reliability-cli-"));
    const database = await createTestDatabase(inject("postgresUrl"));
    const startedAt = performance.now();
    const harness = await startStageHarness({
      sandbox: { timings: { pendingMs: 300, renderMs: 5_000 } },
      environment: { DATABASE_URL: database.url, OUTPUT_DIR: outputDir },
    });
    const environment = {
      PATH: process.env.PATH ?? "",
      HOME: outputDir,
      DASHSCOPE_API_KEY: harness.sandbox.apiKey,
      DASHSCOPE_HTTP_BASE_URL: harness.sandbox.baseUrl,
      OUTPUT_DIR: outputDir,
      DATABASE_URL: database.url,
      VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${harness.sandbox.port}`,
      VIDEO_GEN_RENDER_ESTIMATE_S: "1",
    };
    const args = [
      ...CLI_NODE_ARGUMENTS,
      "generate",
      "--image",
      SAMPLE_IMAGE_PATH,
      "--prompt",
      "a lighthouse at dusk, cli resume",
      "--duration",
      "2",
      "--json",
    ];
    const spawnCli = () => {
      const child = spawn(process.execPath, args, { env: environment, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal })),
      );
      return { child, exited, output: () => ({ stdout, stderr }) };
    };
    try {
      const first = spawnCli();
      const deadline = Date.now() + 30_000;
      while (harness.sandbox.stats().tasksCreated === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(harness.sandbox.stats().tasksCreated).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(harness.sandbox.tasks()[0]?.status).toMatch(/PENDING|RUNNING/);
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");

      const second = spawnCli();
      const timer = setTimeout(() => second.child.kill("SIGKILL"), 60_000);
      const exit = await second.exited;
      clearTimeout(timer);
      expect(exit.code, second.output().stderr).toBe(0);
      const response = JSON.parse(second.output().stdout) as VideoGenerateResponse;
      const outcome: GenerationOutcome = { status: "succeeded", response };
      const tally = await tallyRuns({
        outcomes: [outcome],
        sandbox: harness.sandbox,
        objectStore: harness.dependencies.objectStore,
        metadataStore: harness.dependencies.metadataStore,
      });
      rows.push({
        case: "CLI generate killed -9 mid-render, same command rerun",
        outcome: "succeeded",
        expected: "succeeded",
        distinctRequests: 1,
        durationMs: performance.now() - startedAt,
        ...tally,
      });
      expect(response.task_id).toBe(harness.sandbox.tasks()[0]?.taskId);
      expect(tally).toEqual({ tasksCreated: 1, lost: 0, leakedSlots: 0 });
    } finally {
      await harness.close();
      await database.drop();
      await rm(outputDir, { recursive: true, force: true });
    }
  }, 120_000);
});
