import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { GenerationOutcome } from "../../src/runner/generate-in-process.ts";
import type { SandboxHandle } from "../../src/sandbox/index.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";

/** What every reliability case is judged on. */
export interface ReliabilityTally {
  /** Provider tasks the sandbox created. */
  tasksCreated: number;
  /**
   * Results lost: succeeded runs whose stored file is missing or differs from the recorded sha256, plus provider
   * tasks that SUCCEEDED (a billed video) without any succeeded generation holding their file.
   */
  lost: number;
  /** Budget slots still held after the runs ended. */
  leakedSlots: number;
}

/** The object key of a stored result (`videos/<key>.mp4`), taken from its storage URI (S3 prefix or local root). */
export function objectKeyOf(storageUri: string): string {
  const at = storageUri.lastIndexOf("videos/");
  if (at < 0) throw new Error(`storage_uri ${storageUri} holds no videos/ key`);
  return storageUri.slice(at);
}

/** Counts tasks, lost results and leaked slots for a finished set of runs (see `ReliabilityTally`). */
export async function tallyRuns(input: {
  outcomes: readonly GenerationOutcome[];
  sandbox: SandboxHandle;
  objectStore: ObjectStore;
  metadataStore: MetadataStore;
  /** Count only tasks created after this many (`sandbox.tasks().length` before the case); default 0. */
  sinceTask?: number;
}): Promise<ReliabilityTally> {
  const { outcomes, sandbox, objectStore, metadataStore } = input;
  const tasks = sandbox.tasks().slice(input.sinceTask ?? 0);
  let lost = 0;
  const heldTasks = new Set<string>();
  for (const outcome of outcomes) {
    if (outcome.status !== "succeeded") continue;
    const { response } = outcome;
    heldTasks.add(response.task_id);
    const record = await metadataStore.get(response.generation_id);
    const recordedSha = record?.result?.sha256;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await objectStore.getBytes(objectKeyOf(response.storage_uri), 4 * 1024 ** 3);
    } catch {
      bytes = undefined;
    }
    const actualSha = bytes ? createHash("sha256").update(bytes).digest("hex") : undefined;
    if (!actualSha || actualSha !== response.sha256 || recordedSha !== response.sha256) lost += 1;
  }
  for (const task of tasks) {
    if (task.status === "SUCCEEDED" && !heldTasks.has(task.taskId)) lost += 1;
  }
  return { tasksCreated: tasks.length, lost, leakedSlots: await metadataStore.countSlots() };
}

/** One row of the fault matrix. */
export interface MatrixRow {
  case: string;
  /** `succeeded`, or `failed: <code>` / `canceled`. */
  outcome: string;
  expected: string;
  /** Distinct requests of the case (the number of provider tasks that may exist). */
  distinctRequests: number;
  tasksCreated: number;
  lost: number;
  leakedSlots: number;
  durationMs: number;
  note?: string;
}

/** `succeeded`, `failed: <code>` or `canceled`. */
export function describeOutcome(outcome: GenerationOutcome): string {
  if (outcome.status === "failed") return `failed: ${outcome.error.code}`;
  return outcome.status;
}

/** The machine a figure was measured on. */
export function describeMachine(): {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
} {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** bench/results/ of this repository. */
export const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));

/** Renders matrix rows as a Markdown table. */
export function renderMatrix(rows: readonly MatrixRow[]): string {
  const lines = [
    "| case | outcome | expected | tasks created / distinct requests | lost | leaked slots | duration |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.case} | ${row.outcome} | ${row.expected} | ${row.tasksCreated} / ${row.distinctRequests} | ${row.lost} | ${row.leakedSlots} | ${(row.durationMs / 1000).toFixed(1)} s |`,
    ),
  ];
  const notes = rows.filter((row) => row.note).map((row) => `- **${row.case}**: ${row.note}`);
  return `${lines.join("\n")}\n${notes.length > 0 ? `\n${notes.join("\n")}\n` : ""}`;
}

/** Writes `bench/results/<name>.json` (rows, machine, date) and `<name>.md` (the rendered table). */
export async function writeMatrix(name: string, rows: readonly MatrixRow[]): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const measuredAt = new Date().toISOString();
  const machine = describeMachine();
  await writeFile(
    path.join(RESULTS_DIR, `${name}.json`),
    `${JSON.stringify({ measuredAt, machine, rows }, null, 2)}\n`,
  );
  const header = `# ${name}\n\nMeasured ${measuredAt} on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, Node ${machine.node} (${machine.platform}).\n\n`;
  await writeFile(path.join(RESULTS_DIR, `${name}.md`), header + renderMatrix(rows));
}
