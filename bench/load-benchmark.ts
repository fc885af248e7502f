/**
 * Load benchmark: N requests (default 200) fanned out at once through `generateInProcess` in one process with shared
 * dependencies, 25 % of them duplicates of others, against the sandbox with the documented limits (5 tasks in
 * flight, 5 submits/s) and render times drawn from the documented 45-180 s divided by 60 (0.75-3 s); the stage's
 * clock runs 60× faster too, and its budget is 5. Metadata on a throw-away PostgreSQL cluster (or DATABASE_URL).
 *
 *   node --import tsx bench/load-benchmark.ts [--requests 200] [--scale 60] [--no-render-reuse]
 *
 * Prompts and seeds differ per request; clip lengths cycle through 2 s and 5 s, so the sandbox renders a handful of
 * distinct clips and reuses them (a property of the emulator, not of the stage: `--no-render-reuse` makes it render
 * every task with ffmpeg on the cores the stage runs on).
 *
 * Writes bench/results/load.md and bench/results/load.json.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { createTestDatabase, startPostgresCluster } from "../test/helpers/postgres-cluster.ts";
import { describeMachine, RESULTS_DIR } from "../test/helpers/reliability-checks.ts";
import { type LoadResult, runLoad } from "../test/helpers/reliability-load.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "200" },
    scale: { type: "string", default: "60" },
    "no-render-reuse": { type: "boolean", default: false },
  },
});
const reuseRenders = !values["no-render-reuse"];
const requests = Number(values.requests);
const timeScale = Number(values.scale);
if (!Number.isInteger(requests) || requests < 4)
  throw new Error("--requests must be a whole number of at least 4");
if (!(timeScale > 0)) throw new Error("--scale must be a positive number");

const existing = process.env.DATABASE_URL;
const cluster = existing ? undefined : await startPostgresCluster();
const database = await createTestDatabase(existing ?? cluster!.url);
let result: LoadResult;
try {
  result = await runLoad({ requests, timeScale, databaseUrl: database.url, reuseRenders });
} finally {
  await database.drop();
  await cluster?.destroy();
}

const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;
const share = (milliseconds: number) =>
  `${seconds(milliseconds)} (${((milliseconds / result.makespanMs) * 100).toFixed(1)} %)`;
const { breakdown } = result;
const ratio = result.makespanMs / result.theoreticalMinimumMs;
const machine = describeMachine();
const measuredAt = new Date().toISOString();
const checks = [
  ["all requests answered", result.answered === result.requests],
  ["all succeeded", result.succeeded === result.requests],
  ["provider tasks created = distinct requests", result.tally.tasksCreated === result.distinctRequests],
  ["results lost = 0", result.tally.lost === 0],
  ["leaked slots = 0", result.tally.leakedSlots === 0],
  ["peak in flight ≤ budget (5)", result.peakInFlight <= 5],
  ["makespan ≤ 1.25 × theoretical minimum", ratio <= 1.25],
] as const;

const markdown = `# Load benchmark

Measured ${measuredAt} on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, Node ${machine.node} (${machine.platform}).
Command: \`node --import tsx bench/load-benchmark.ts --requests ${requests} --scale ${timeScale}${reuseRenders ? "" : " --no-render-reuse"}\`.

Setup: ${result.requests} requests fanned out at once through \`generateInProcess\` (one process, shared dependencies), ${result.requests - result.distinctRequests} of them
duplicates of others (${result.distinctRequests} distinct: prompts and seeds differ, clip lengths cycle through 2 s and 5 s); sandbox limits 5 tasks in
flight and 5 submits/s (the documented ones); render time per distinct request drawn uniformly from the documented 45-180 s ÷ ${timeScale} =
${(result.renderRangeMs.min / 1000).toFixed(2)}-${(result.renderRangeMs.max / 1000).toFixed(2)} s (plus 0.1 s PENDING); the stage's clock (poll schedule, backoffs) runs ${timeScale}× faster as well; budget 5;
metadata on PostgreSQL; videos in a local directory. Sandbox render reuse ${reuseRenders ? `on: ${result.distinctRenderInputs} distinct render inputs among ${result.tally.tasksCreated} tasks, so at most ${result.distinctRenderInputs} ffmpeg runs` : "off: every task runs ffmpeg"}.

| figure | value |
|---|---|
| requests answered | ${result.answered} / ${result.requests} (${result.succeeded} succeeded) |
| provider tasks created / distinct requests | ${result.tally.tasksCreated} / ${result.distinctRequests} |
| results lost | ${result.tally.lost} |
| budget slots leaked | ${result.tally.leakedSlots} |
| peak tasks in flight (sandbox) | ${result.peakInFlight} (budget 5) |
| 429s answered by the sandbox, all absorbed | ${result.throttled} (submit step retries: ${result.submitRetries}) |
| status queries answered by the sandbox | ${result.statusQueries} |
| makespan | ${seconds(result.makespanMs)} |
| theoretical minimum = max(Σ(pending + render) ÷ 5, distinct ÷ 5/s) | ${seconds(result.theoreticalMinimumMs)} (render bound ${seconds(result.renderBoundMs)}, pacing bound ${seconds(result.pacingBoundMs)}) |
| makespan ÷ minimum (target ≤ 1.25) | ${ratio.toFixed(2)} |
| Σ measured task lifetimes at the provider ÷ 5 | ${seconds(result.measuredOccupancyBoundMs)} |
| makespan ÷ measured provider occupancy (the stage's own overhead) | ${(result.makespanMs / result.measuredOccupancyBoundMs).toFixed(2)} |
| peak RSS of the process (stage + sandbox + ffmpeg parents) | ${(result.peakRssBytes / 1024 ** 2).toFixed(0)} MiB |

Where the makespan goes (each part is a sum over the ${result.tally.tasksCreated} slot holds, or idle slot time, ÷ 5; the parts add up to the makespan):

| part | makespan-equivalent (share) | per task |
|---|---|---|
| drawn render time (theoretical minimum) | ${share(breakdown.drawnRenderMs)} | |
| configured PENDING (theoretical minimum) | ${share(breakdown.configuredPendingMs)} | |
| submit step: slot acquired → task created | ${share(breakdown.submitMs)} | ${breakdown.perTask.submitMs.toFixed(0)} ms |
| PENDING past the configured time (timer lateness) | ${share(breakdown.pendingOverrunMs)} | |
| RUNNING past the drawn time (sandbox ffmpeg, timer lateness) | ${share(breakdown.renderOverrunMs)} | ${breakdown.perTask.renderOverrunMs.toFixed(0)} ms |
| detection lag: task ended → the poll that saw it released the slot | ${share(breakdown.detectionLagMs)} | ${breakdown.perTask.detectionLagMs.toFixed(0)} ms |
| … of which the poll schedule itself (replayed with instant steps) | ${share(breakdown.scheduleLagMs)} | ${breakdown.perTask.scheduleLagMs.toFixed(0)} ms |
| … of which the steps' own run time (status call, slot renewal, progress write; not scaled) | ${share(breakdown.detectionLagMs - breakdown.scheduleLagMs)} | ${(breakdown.perTask.detectionLagMs - breakdown.perTask.scheduleLagMs).toFixed(0)} ms |
| idle slots while runs waited for one (hand-over: a freed slot granted, its waiter woken by slot-granted) | ${share(breakdown.idleWhileQueuedMs)} | |
| idle slots in the tail (after the last acquire: fewer runs than slots, copy, persist) | ${share(breakdown.idleTailMs)} | |

Slot steps run: ${breakdown.slotAttempts.total} (at most ${breakdown.slotAttempts.maxPerRun} by one run); status checks: ${breakdown.statusChecks}.

Checks: ${checks.map(([name, ok]) => `${ok ? "✓" : "✗"} ${name}`).join("; ")}.
${result.failures.length > 0 ? `\nFailures:\n${result.failures.map((failure) => `- ${failure}`).join("\n")}\n` : ""}`;

await writeFile(path.join(RESULTS_DIR, "load.md"), markdown);
await writeFile(
  path.join(RESULTS_DIR, "load.json"),
  `${JSON.stringify({ measuredAt, machine, ...result, ratio }, null, 2)}\n`,
);
process.stdout.write(markdown);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
