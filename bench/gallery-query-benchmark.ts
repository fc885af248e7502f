/**
 * The gallery's queries (src/metadata/generation-queries.ts) on PostgreSQL with 10,000 and 100,000 records: p50/p95
 * of each kind of page (first, deep cursor, every filter), totals, groups and queue positions, through the module
 * itself on a `pg` pool; and the EXPLAIN (ANALYZE, BUFFERS) plan of every statement each one runs, reduced to its
 * node names and the indexes they use. Records come from bench/seed-generations.ts on a throw-away cluster (or
 * DATABASE_URL's server: a database is created there and dropped).
 *
 *   node --import tsx bench/gallery-query-benchmark.ts [--sizes 10000,100000] [--iterations 100]
 *
 * Writes bench/results/gallery-query.md and bench/results/gallery-query.json.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import { encodeGenerationCursor } from "../src/metadata/generation-cursor.ts";
import { createGenerationQueries, type GenerationQueries } from "../src/metadata/generation-queries.ts";
import { createPgSqlClient, migrate, type SqlClient } from "../src/metadata/index.ts";
import { createTestDatabase, startPostgresCluster } from "../test/helpers/postgres-cluster.ts";
import { describeMachine, percentile } from "./machine.ts";
import { type SeededGenerations, seedGenerations } from "./seed-generations.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    iterations: { type: "string", default: "100" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const iterations = Number(values.iterations);
if (sizes.some((size) => !Number.isInteger(size) || size < 1000))
  throw new Error("--sizes: whole numbers ≥ 1000");
if (!Number.isInteger(iterations) || iterations < 10) throw new Error("--iterations: a whole number ≥ 10");

/** Goal of the issue: a filtered page within 50 ms at the 95th percentile. */
const GOAL_P95_MS = 50;
const WARM_UP_RUNS = 5;

interface Statement {
  text: string;
  params: readonly unknown[];
}

interface PlanSummary {
  /** Node names in plan order, with the index each scans: `Index Scan Backward (generations_newest)`. */
  nodes: string[];
  /** Indexes the plan reads. */
  indexes: string[];
  /** Execution time EXPLAIN ANALYZE reports, ms. */
  executionMs: number;
  /** Rows the top node returned. */
  rows: number;
}

interface CaseResult {
  name: string;
  /** What the gallery shows with it. */
  kind: "page" | "totals" | "groups" | "queue";
  /** Records (or groups, or positions) one call returns. */
  returned: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  plans: PlanSummary[];
}

interface SizeResult {
  records: number;
  seedSeconds: number;
  tableMiB: number;
  indexMiB: number;
  cases: CaseResult[];
}

/** A SqlClient that remembers the statements it runs, to EXPLAIN exactly them. */
function recordingClient(sql: SqlClient, log: Statement[]): SqlClient {
  return {
    query: (text, params) => {
      log.push({ text, params: params ?? [] });
      return sql.query(text, params);
    },
    transaction: (fn) => sql.transaction(fn),
    close: () => sql.close(),
  };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  "Scan Direction"?: string;
  "Actual Rows"?: number;
  Plans?: PlanNode[];
}

function summarizePlan(plan: { Plan: PlanNode; "Execution Time": number }): PlanSummary {
  const nodes: string[] = [];
  const indexes = new Set<string>();
  const walk = (node: PlanNode) => {
    const backward = node["Scan Direction"] === "Backward" ? " Backward" : "";
    const target = node["Index Name"] ?? node["Relation Name"];
    nodes.push(`${node["Node Type"]}${backward}${target ? ` (${target})` : ""}`);
    if (node["Index Name"]) indexes.add(node["Index Name"]);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  // A BitmapOr of 50 index scans reads better as one line with a count.
  const collapsed: string[] = [];
  for (const node of nodes) {
    const previous = collapsed.at(-1);
    const repeated = previous === undefined ? undefined : /^(.*?)(?: ×(\d+))?$/.exec(previous);
    if (repeated?.[1] === node) collapsed[collapsed.length - 1] = `${node} ×${Number(repeated[2] ?? 1) + 1}`;
    else collapsed.push(node);
  }
  return {
    nodes: collapsed,
    indexes: [...indexes],
    executionMs: plan["Execution Time"],
    rows: plan.Plan["Actual Rows"] ?? 0,
  };
}

async function explain(sql: SqlClient, statement: Statement): Promise<PlanSummary> {
  const { rows } = await sql.query<{ "QUERY PLAN": [{ Plan: PlanNode; "Execution Time": number }] }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
    statement.params,
  );
  const plan = rows[0]?.["QUERY PLAN"][0];
  if (!plan) throw new Error("EXPLAIN returned no plan");
  return summarizePlan(plan);
}

interface BenchCase {
  name: string;
  kind: CaseResult["kind"];
  run(queries: GenerationQueries): Promise<number>;
}

/** The cases, with filters chosen from what was seeded so each one matches something. */
async function casesFor(sql: SqlClient, seeded: SeededGenerations): Promise<BenchCase[]> {
  const middle = await sql.query<{ created_at: string; generation_id: string }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, generation_id
     FROM generations ORDER BY created_at DESC, generation_id DESC OFFSET $1::int LIMIT 1`,
    [Math.floor(seeded.count / 2)],
  );
  const row = middle.rows[0];
  if (!row) throw new Error("no middle row");
  const deepCursor = encodeGenerationCursor({ createdAt: row.created_at, generationId: row.generation_id });
  const day = 86_400_000;
  const newest = seeded.newest.getTime();
  const lastDay = { from: new Date(newest - 2 * day), to: new Date(newest - day) };
  const page =
    (
      query: Parameters<GenerationQueries["page"]>[0],
      options: Parameters<GenerationQueries["page"]>[1] = {},
    ) =>
    async (queries: GenerationQueries) =>
      (await queries.page(query, options)).records.length;
  return [
    { name: "first page, no filter", kind: "page", run: page({}) },
    {
      name: `deep cursor (record ${Math.floor(seeded.count / 2)} of ${seeded.count})`,
      kind: "page",
      run: page({}, { cursor: deepCursor }),
    },
    { name: "status = failed", kind: "page", run: page({ statuses: ["failed"] }) },
    {
      name: "status = failed, deep cursor",
      kind: "page",
      run: page({ statuses: ["failed"] }, { cursor: deepCursor }),
    },
    {
      name: "status in flight (4 statuses)",
      kind: "page",
      run: page({ statuses: ["pending", "submitted", "copying", "attached"] }),
    },
    {
      name: `correlation pipeline_run=${seeded.pipelineRun}`,
      kind: "page",
      run: page({ correlation: { key: "pipeline_run", value: seeded.pipelineRun } }),
    },
    { name: "correlation has key project", kind: "page", run: page({ correlation: { key: "project" } }) },
    { name: 'prompt "lighthouse"', kind: "page", run: page({ promptText: "lighthouse" }) },
    { name: 'prompt "fox auro" (two prefixes)', kind: "page", run: page({ promptText: "fox auro" }) },
    { name: `seed = ${seeded.seed}`, kind: "page", run: page({ seed: seeded.seed }) },
    { name: "time range: one day, two days ago", kind: "page", run: page(lastDay) },
    {
      name: 'combined: succeeded, has project, prompt "cat", last 30 days',
      kind: "page",
      run: page({
        statuses: ["succeeded"],
        correlation: { key: "project" },
        promptText: "cat",
        from: new Date(newest - 30 * day),
      }),
    },
    { name: "compare view: 8 ids", kind: "page", run: page({ ids: seeded.inFlightIds.slice(0, 8) }) },
    { name: "totals, no filter", kind: "totals", run: async (queries) => (await queries.totals({})).count },
    {
      name: "totals, last 7 days",
      kind: "totals",
      run: async (queries) => (await queries.totals({ from: new Date(newest - 7 * day) })).count,
    },
    {
      name: `totals, pipeline_run=${seeded.pipelineRun}`,
      kind: "totals",
      run: async (queries) =>
        (await queries.totals({ correlation: { key: "pipeline_run", value: seeded.pipelineRun } })).count,
    },
    {
      name: 'totals, prompt "lighthouse"',
      kind: "totals",
      run: async (queries) => (await queries.totals({ promptText: "lighthouse" })).count,
    },
    {
      name: "groups by pipeline_run (newest 50)",
      kind: "groups",
      run: async (queries) => (await queries.groups({ groupKey: "pipeline_run" })).length,
    },
    {
      name: "groups by pipeline_run, last 7 days",
      kind: "groups",
      run: async (queries) =>
        (await queries.groups({ groupKey: "pipeline_run", from: new Date(newest - 7 * day) })).length,
    },
    {
      name: "groups by project (20 values)",
      kind: "groups",
      run: async (queries) => (await queries.groups({ groupKey: "project" })).length,
    },
    {
      name: `queue positions of ${seeded.inFlightIds.length} in-flight ids`,
      kind: "queue",
      run: async (queries) => (await queries.queuePositions(seeded.inFlightIds)).size,
    },
  ];
}

async function measureSize(adminUrl: string, records: number): Promise<SizeResult> {
  const database = await createTestDatabase(adminUrl);
  const sql = createPgSqlClient({ connectionString: database.url, max: 2 });
  try {
    await migrate(sql);
    const seedStarted = performance.now();
    const seeded = await seedGenerations(sql, { count: records });
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const sizes = await sql.query<{ table_mib: number; index_mib: number; all_visible: number }>(
      `SELECT pg_table_size('generations') / 1048576.0 AS table_mib,
         pg_indexes_size('generations') / 1048576.0 AS index_mib,
         (SELECT relallvisible::float8 / greatest(relpages, 1) FROM pg_class WHERE relname = 'generations') AS all_visible`,
    );
    console.log(`${records} records seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(sizes.rows[0])}`);
    const log: Statement[] = [];
    const queries = createGenerationQueries({ sql: recordingClient(sql, log) });
    const cases: CaseResult[] = [];
    for (const benchCase of await casesFor(sql, seeded)) {
      let returned = 0;
      for (let run = 0; run < WARM_UP_RUNS; run++) returned = await benchCase.run(queries);
      const timings: number[] = [];
      for (let run = 0; run < iterations; run++) {
        const started = performance.now();
        await benchCase.run(queries);
        timings.push(performance.now() - started);
      }
      timings.sort((left, right) => left - right);
      log.length = 0;
      await benchCase.run(queries);
      const plans: PlanSummary[] = [];
      for (const statement of [...log]) plans.push(await explain(sql, statement));
      const result: CaseResult = {
        name: benchCase.name,
        kind: benchCase.kind,
        returned,
        p50Ms: percentile(timings, 0.5),
        p95Ms: percentile(timings, 0.95),
        maxMs: timings.at(-1) ?? Number.NaN,
        plans,
      };
      console.log(
        `${records} ${result.name}: p50 ${result.p50Ms.toFixed(2)} ms, p95 ${result.p95Ms.toFixed(2)} ms, ${returned} returned; ${plans.map((plan) => plan.nodes.join(" > ")).join(" | ")}`,
      );
      cases.push(result);
    }
    return {
      records,
      seedSeconds,
      tableMiB: Number(sizes.rows[0]?.table_mib),
      indexMiB: Number(sizes.rows[0]?.index_mib),
      cases,
    };
  } finally {
    await sql.close();
    await database.drop();
  }
}

const existing = process.env.DATABASE_URL;
const cluster = existing ? undefined : await startPostgresCluster();
const results: SizeResult[] = [];
let serverVersion = "";
try {
  const adminUrl = existing ?? (cluster?.url as string);
  const admin = createPgSqlClient({ connectionString: adminUrl, max: 1 });
  serverVersion =
    (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "";
  await admin.close();
  for (const records of sizes) results.push(await measureSize(adminUrl, records));
} finally {
  await cluster?.destroy();
}

const ms = (value: number) => value.toFixed(2);
const planCell = (plans: PlanSummary[]) => plans.map((plan) => plan.nodes.join(" › ")).join("<br>then ");
const filteredPages = results.flatMap((size) =>
  size.cases.filter((each) => each.kind === "page").map((each) => ({ ...each, records: size.records })),
);
const worstPage = filteredPages.reduce((worst, each) => (each.p95Ms > worst.p95Ms ? each : worst));
const allIndexed = filteredPages.every((each) => each.plans.every((plan) => plan.indexes.length > 0));
const measuredAt = new Date().toISOString().slice(0, 10);

const sections = results.map(
  (size) => `### ${size.records.toLocaleString("en")} records

Seeded in ${size.seedSeconds.toFixed(1)} s; table ${size.tableMiB.toFixed(1)} MiB, its indexes ${size.indexMiB.toFixed(1)} MiB.

| query | returned | p50 ms | p95 ms | max ms | plan (EXPLAIN ANALYZE: nodes, index) | executed in (ms) |
|---|--:|--:|--:|--:|---|--:|
${size.cases
  .map(
    (each) =>
      `| ${each.name} | ${each.returned} | ${ms(each.p50Ms)} | ${ms(each.p95Ms)} | ${ms(each.maxMs)} | ${planCell(each.plans)} | ${each.plans.map((plan) => plan.executionMs.toFixed(2)).join(" + ")} |`,
  )
  .join("\n")}`,
);

const largest = results.at(-1) as SizeResult;
const largestTotals = largest.cases.find((each) => each.name === "totals, no filter");
const largestProjectGroups = largest.cases.find((each) => each.name.startsWith("groups by project"));

const markdown = `# Gallery queries on PostgreSQL

Command: \`node --import tsx bench/gallery-query-benchmark.ts --sizes ${sizes.join(",")} --iterations ${iterations}\`. Date: ${measuredAt}.
Machine: ${describeMachine()}. PostgreSQL ${serverVersion} (a throw-away cluster: fsync off, default memory settings). 1-minute load average after the run: ${os.loadavg()[0]?.toFixed(1)}.

What the gallery page and \`/api/generations\` run, timed through \`createGenerationQueries\` on a \`pg\` pool over
TCP on 127.0.0.1 (the time a caller waits: planning, execution, transfer and row mapping), ${iterations} sequential calls each after ${WARM_UP_RUNS}
warm-up calls. Records from \`bench/seed-generations.ts\`: spread over 90 days, two per instant; 86 % succeeded, 9 %
failed, 5 % canceled, 24 in flight; 60 % with a \`pipeline_run\` and \`shot\` correlation, 15 % with a \`project\`;
prompts of four parts from word lists; seeds from 0..2^31-1. Pages hold 24 records. The plan column is the
EXPLAIN (ANALYZE, BUFFERS) of each statement the call ran, node by node (index or table in parentheses);
"executed in" is the server's own execution time from that EXPLAIN.

**Goal** (p95 < ${GOAL_P95_MS} ms for a filtered page): ${worstPage.p95Ms < GOAL_P95_MS ? "**met**" : "**not met**"}; the slowest page is "${worstPage.name}" at ${worstPage.records.toLocaleString("en")} records, p95 ${ms(worstPage.p95Ms)} ms. Every page's plan reads an index: ${allIndexed ? "yes" : "**no**"}.

${sections.join("\n\n")}

### Reading

- Every page is one index range: \`generations_newest\` (created_at DESC, generation_id DESC) for the unfiltered,
  time-range, key-present and frequent-word pages, \`generations_status_newest\` for a status, with the cursor's row
  comparison \`(created_at, generation_id) < (…)\` as the index condition, so a page in the middle of the history
  costs what the first one does. A correlation value goes through the jsonb_path_ops index, a seed through
  \`generations_seed\`, a chosen set through the primary key.
- Prompt words become a prefix tsquery in a first, small statement (the \`Function Scan\` of \`ts_debug\`), so the
  planner sees the words: a frequent word ("lighthouse", in 4 % of the records) walks the newest-first index and stops
  at the 25th match; a rare combination ("fox auro", 0.2 %) is read from the GIN index over \`prompt_search\`.
- Totals over everything read only the newest-first index, which carries status, cache hit, currency, seconds and
  cost (an index-only scan; the table's rows are wide with their request and result documents). They grow with
  the number of records: ${largestTotals ? `${ms(largestTotals.p50Ms)} ms p50 at ${largest.records.toLocaleString("en")}` : "n/a"}. A filter makes them proportional to what it selects.
- Groups of a few records each (a \`pipeline_run\`'s takes) are found among the newest records (20 per group asked
  for) and added up through the correlation index. A key with few, large groups (\`project\`: 20 values) makes the
  whole set of records holding it grouped in one pass: ${largestProjectGroups ? `${ms(largestProjectGroups.p50Ms)} ms p50 at ${largest.records.toLocaleString("en")}` : "n/a"}, growing with those records.
`;

await writeFile("bench/results/gallery-query.md", markdown);
await writeFile(
  "bench/results/gallery-query.json",
  `${JSON.stringify({ measuredAt, machine: describeMachine(), serverVersion, iterations, results }, null, 2)}\n`,
);
console.log(markdown);
