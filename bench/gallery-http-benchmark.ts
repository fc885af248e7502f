/**
 * The operator pages over real HTTP on PostgreSQL with 10,000 and 100,000 records: the gallery page and
 * `/api/generations` (first page, filtered by status, correlation and prompt text, a deep cursor page), the detail
 * page and `/api/generations/<id>`, each timed on the server (request received → last byte handed to the socket)
 * and at the client (round trip, keep-alive); where the server's time goes (database calls, the handler's own work,
 * the Node adapter and the write); and Range reads of a stored video against a plain file read.
 *
 * The server is what `video-gen serve` builds (`composeStage` → `composeOperatorRoutes` → `createStageServer`, an
 * operator token, the local object store), in this process so its calls can be timed; the client is undici on a
 * keep-alive connection, one request at a time. Records come from bench/seed-generations.ts on a throw-away cluster
 * (or DATABASE_URL's server: a database is created there and dropped).
 *
 *   node --import tsx bench/gallery-http-benchmark.ts [--sizes 10000,100000] [--iterations 100] [--video-mib 80]
 *
 * Writes bench/results/gallery-http.md and bench/results/gallery-http.json.
 */
import { randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Inngest } from "inngest";
import { Agent, request } from "undici";
import { composeStage, type StageRuntime } from "../src/compose-stage.ts";
import { loadConfig } from "../src/config.ts";
import { composeOperatorRoutes } from "../src/gallery/compose-operator-handler.ts";
import type { OperatorHandler } from "../src/gallery/operator-handler.ts";
import { encodeGenerationCursor } from "../src/metadata/generation-cursor.ts";
import { createPgSqlClient, migrate, type SqlClient } from "../src/metadata/index.ts";
import { createStageServer } from "../src/server/create-stage-server.ts";
import { createTestDatabase, startPostgresCluster } from "../test/helpers/postgres-cluster.ts";
import { describeMachine, percentile } from "./machine.ts";
import { type SeededGenerations, seedGenerations } from "./seed-generations.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    iterations: { type: "string", default: "100" },
    "video-mib": { type: "string", default: "80" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const iterations = Number(values.iterations);
const videoMiB = Number(values["video-mib"]);
if (sizes.some((size) => !Number.isInteger(size) || size < 1000))
  throw new Error("--sizes: whole numbers ≥ 1000");
if (!Number.isInteger(iterations) || iterations < 10) throw new Error("--iterations: a whole number ≥ 10");
if (!Number.isInteger(videoMiB) || videoMiB < 1) throw new Error("--video-mib: a whole number ≥ 1");

/** Goal of the issue: a filtered page within 50 ms at the 95th percentile (server time). */
const GOAL_P95_MS = 50;
const WARM_UP_RUNS = 5;
/** Operator token of the benchmark's server (every request presents it as a bearer token, as a script would). */
const TOKEN = "gallery-http-benchmark-token-0123456789";
/** Range requests of this size walk the video, as a player that reads ahead does. */
const RANGE_CHUNK_BYTES = 4 * 1024 * 1024;
const RANGE_PASSES = 10;
const MiB = 1024 * 1024;

/** One timed call into the database (a query or a record lookup) while a request was served. */
interface Span {
  name: string;
  start: number;
  end: number;
}

/** What the server did for one request, ms. */
interface ServerTiming {
  /** Request received → response finished (the last byte handed to the socket). */
  totalMs: number;
  /** Time in database calls, overlapping calls counted once. */
  databaseMs: number;
  /** The handler's own work: the handler's time minus the database's (views, progress estimates, HTML or JSON). */
  handlerCpuMs: number;
  /** Node request → Fetch Request, and the Fetch Response written to the socket. */
  adapterMs: number;
  /** Database calls by name, ms (summed). */
  calls: Record<string, number>;
}

/** Timings of the request being served; requests are sent one at a time, so there is one. */
let current: { received: number; handlerStart: number; handlerEnd: number; spans: Span[] } | undefined;
let lastTiming: ServerTiming | undefined;

/** Wraps every method of `target` so its calls during a request are recorded as spans named `<label>.<method>`. */
function timed<T extends object>(target: T, label: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        const record = () =>
          current?.spans.push({ name: `${label}.${String(property)}`, start, end: performance.now() });
        const result = (value as (...parameters: unknown[]) => unknown).apply(object, args);
        if (result instanceof Promise) return result.finally(record);
        record();
        return result;
      };
    },
  });
}

/** Length of the union of the spans (calls run side by side, as page and totals do, count once). */
function unionMs(spans: Span[]): number {
  const sorted = [...spans].sort((left, right) => left.start - right.start);
  let total = 0;
  let open: Span | undefined;
  let close = 0;
  for (const span of sorted) {
    if (open === undefined || span.start > close) {
      if (open !== undefined) total += close - open.start;
      open = span;
      close = span.end;
    } else close = Math.max(close, span.end);
  }
  return open === undefined ? 0 : total + close - open.start;
}

/** Times each request on the server: from the `request` event to the response's `finish`. */
function instrumentServer(server: http.Server): void {
  server.prependListener("request", (_request: http.IncomingMessage, response: http.ServerResponse) => {
    const received = performance.now();
    current = { received, handlerStart: received, handlerEnd: received, spans: [] };
    const state = current;
    response.once("finish", () => {
      const finished = performance.now();
      const databaseMs = unionMs(state.spans);
      const handlerMs = state.handlerEnd - state.handlerStart;
      const calls: Record<string, number> = {};
      for (const span of state.spans) calls[span.name] = (calls[span.name] ?? 0) + (span.end - span.start);
      lastTiming = {
        totalMs: finished - received,
        databaseMs,
        handlerCpuMs: Math.max(0, handlerMs - databaseMs),
        adapterMs: finished - received - handlerMs,
        calls,
      };
    });
  });
}

function timedHandler(handler: OperatorHandler): OperatorHandler {
  return async (fetchRequest) => {
    const state = current;
    if (state) state.handlerStart = performance.now();
    const response = await handler(fetchRequest);
    if (state) state.handlerEnd = performance.now();
    return response;
  };
}

/** The runtime the operator routes see, with its database calls and object reads timed. */
function timedRuntime(runtime: StageRuntime): StageRuntime {
  return {
    ...runtime,
    queries: timed(runtime.queries, "queries"),
    dependencies: {
      ...runtime.dependencies,
      metadataStore: timed(runtime.dependencies.metadataStore, "store"),
      objectStore: timed(runtime.dependencies.objectStore, "objects"),
    },
  };
}

interface HttpCase {
  name: string;
  kind: "html" | "json";
  /** Whether the issue's goal applies (a filtered page). */
  filtered: boolean;
  path: string;
  /** What one answer holds, for the table: cards on a page, generations in JSON. */
  count(body: string): number;
}

interface CaseResult {
  name: string;
  kind: HttpCase["kind"];
  filtered: boolean;
  path: string;
  returned: number;
  bytes: number;
  server: { p50Ms: number; p95Ms: number; maxMs: number };
  roundTrip: { p50Ms: number; p95Ms: number };
  /** Medians of the server's parts, ms. */
  parts: { databaseMs: number; handlerCpuMs: number; adapterMs: number };
  /** Median time per database call, ms (summed per request when called more than once). */
  calls: Record<string, number>;
}

interface SizeResult {
  records: number;
  seedSeconds: number;
  cases: CaseResult[];
}

const cards = (body: string) => body.match(/<li class="card /g)?.length ?? 0;
const listed = (body: string) => (JSON.parse(body) as { generations: unknown[] }).generations.length;
const one = (body: string) => ((JSON.parse(body) as { generation_id?: string }).generation_id ? 1 : 0);
const detail = (body: string) => (body.includes('<article class="detail"') ? 1 : 0);

async function casesFor(sql: SqlClient, seeded: SeededGenerations): Promise<HttpCase[]> {
  const middle = await sql.query<{ created_at: string; generation_id: string }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, generation_id
     FROM generations ORDER BY created_at DESC, generation_id DESC OFFSET $1::int LIMIT 1`,
    [Math.floor(seeded.count / 2)],
  );
  const row = middle.rows[0];
  if (!row) throw new Error("no middle row");
  const cursor = encodeGenerationCursor({ createdAt: row.created_at, generationId: row.generation_id });
  const succeeded = await sql.query<{ generation_id: string }>(
    `SELECT generation_id FROM generations WHERE status = 'succeeded' AND generation_id >= $1
     ORDER BY generation_id LIMIT 1`,
    [row.generation_id],
  );
  const doneId = succeeded.rows[0]?.generation_id;
  const liveId = seeded.inFlightIds.find((id) => id) ?? "";
  if (!doneId || !liveId) throw new Error("no succeeded or in-flight record to show");
  const lists: Array<{ name: string; query: string; filtered: boolean }> = [
    { name: "first page, no filter (24 in flight)", query: "", filtered: false },
    { name: "status = failed", query: "?status=failed", filtered: true },
    {
      name: `correlation pipeline_run=${seeded.pipelineRun}`,
      query: `?correlation=${encodeURIComponent(`pipeline_run=${seeded.pipelineRun}`)}`,
      filtered: true,
    },
    { name: 'prompt text "lighthouse"', query: "?q=lighthouse", filtered: true },
    {
      name: 'succeeded, prompt "aurora", last 30 days',
      query: "?status=succeeded&q=aurora&from=30d",
      filtered: true,
    },
    {
      name: `deep cursor (record ${Math.floor(seeded.count / 2)} of ${seeded.count})`,
      query: `?cursor=${cursor}`,
      filtered: false,
    },
  ];
  return [
    ...lists.flatMap(({ name, query, filtered }): HttpCase[] => [
      { name, kind: "html", filtered, path: `/gallery${query}`, count: cards },
      { name, kind: "json", filtered, path: `/api/generations${query}`, count: listed },
    ]),
    { name: "detail, succeeded", kind: "html", filtered: false, path: `/gallery/g/${doneId}`, count: detail },
    {
      name: "detail, succeeded",
      kind: "json",
      filtered: false,
      path: `/api/generations/${doneId}`,
      count: one,
    },
    { name: "detail, in flight", kind: "html", filtered: false, path: `/gallery/g/${liveId}`, count: detail },
    {
      name: "detail, in flight",
      kind: "json",
      filtered: false,
      path: `/api/generations/${liveId}`,
      count: one,
    },
  ];
}

interface Served {
  origin: string;
  agent: Agent;
  outputDir: string;
  close(): Promise<void>;
}

/** `video-gen serve`'s server on `databaseUrl`, with a token, on a free port of 127.0.0.1. */
async function startServer(databaseUrl: string): Promise<Served> {
  const outputDir = await mkdtemp(path.join(os.tmpdir(), "video-gen-gallery-bench-"));
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    OUTPUT_DIR: outputDir,
    // Never called: the pages read records and files only.
    DASHSCOPE_API_KEY: "sk-benchmark-not-used",
    VIDEO_GEN_UI_TOKEN: TOKEN,
  });
  const runtime = await composeStage(config);
  const client = new Inngest({ id: config.inngestAppId, isDev: true });
  const operator = composeOperatorRoutes({ runtime: timedRuntime(runtime), config, loopbackOnly: true });
  const server = createStageServer({
    client,
    functions: [],
    describe: runtime.describe,
    checkDatabase: () => runtime.dependencies.metadataStore.countSlots(),
    operator: timedHandler(operator.handler),
    onError: (error) => console.error("operator route failed:", error),
  });
  instrumentServer(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const agent = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  return {
    origin: `http://127.0.0.1:${port}`,
    agent,
    outputDir,
    async close() {
      await agent.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
      await rm(outputDir, { recursive: true, force: true });
    },
  };
}

/** One GET; the body read to its end. */
async function get(
  served: Served,
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; roundTripMs: number; timing: ServerTiming }> {
  lastTiming = undefined;
  const started = performance.now();
  const response = await request(`${served.origin}${pathname}`, {
    dispatcher: served.agent,
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  const roundTripMs = performance.now() - started;
  // The response's `finish` can come a turn of the event loop after the client read the last byte.
  for (let turn = 0; turn < 10 && !lastTiming; turn++) await new Promise((resolve) => setImmediate(resolve));
  const timing = lastTiming as ServerTiming | undefined;
  if (!timing) throw new Error(`no server timing for ${pathname}`);
  return { status: response.statusCode, body: Buffer.concat(chunks), roundTripMs, timing };
}

const median = (numbers: number[]) =>
  percentile(
    [...numbers].sort((left, right) => left - right),
    0.5,
  );

async function measureCase(served: Served, httpCase: HttpCase): Promise<CaseResult> {
  const first = await get(served, httpCase.path);
  if (first.status !== 200) {
    throw new Error(`${httpCase.path}: ${first.status} ${first.body.toString("utf8").slice(0, 300)}`);
  }
  const returned = httpCase.count(first.body.toString("utf8"));
  for (let run = 1; run < WARM_UP_RUNS; run++) await get(served, httpCase.path);
  const samples: Array<{ roundTripMs: number; timing: ServerTiming }> = [];
  for (let run = 0; run < iterations; run++) {
    const { status, roundTripMs, timing } = await get(served, httpCase.path);
    if (status !== 200) throw new Error(`${httpCase.path}: ${status}`);
    samples.push({ roundTripMs, timing });
  }
  const server = samples.map((sample) => sample.timing.totalMs).sort((left, right) => left - right);
  const roundTrip = samples.map((sample) => sample.roundTripMs).sort((left, right) => left - right);
  const callNames = [...new Set(samples.flatMap((sample) => Object.keys(sample.timing.calls)))];
  const result: CaseResult = {
    name: httpCase.name,
    kind: httpCase.kind,
    filtered: httpCase.filtered,
    path: httpCase.path,
    returned,
    bytes: first.body.length,
    server: {
      p50Ms: percentile(server, 0.5),
      p95Ms: percentile(server, 0.95),
      maxMs: server.at(-1) ?? Number.NaN,
    },
    roundTrip: { p50Ms: percentile(roundTrip, 0.5), p95Ms: percentile(roundTrip, 0.95) },
    parts: {
      databaseMs: median(samples.map((sample) => sample.timing.databaseMs)),
      handlerCpuMs: median(samples.map((sample) => sample.timing.handlerCpuMs)),
      adapterMs: median(samples.map((sample) => sample.timing.adapterMs)),
    },
    calls: Object.fromEntries(
      callNames.map((name) => [name, median(samples.map((sample) => sample.timing.calls[name] ?? 0))]),
    ),
  };
  console.log(
    `${httpCase.kind} ${result.name}: server p50 ${result.server.p50Ms.toFixed(2)} ms, p95 ${result.server.p95Ms.toFixed(2)} ms (db ${result.parts.databaseMs.toFixed(2)}, handler ${result.parts.handlerCpuMs.toFixed(2)}, adapter ${result.parts.adapterMs.toFixed(2)}); ${returned} returned, ${first.body.length} bytes`,
  );
  return result;
}

interface RangeResult {
  fileMiB: number;
  /** Median MiB/s over the passes. */
  plainFileRead: number;
  wholeFile200: number;
  openRange206: number;
  chunkedRange206: number;
  passes: number;
  chunkMiB: number;
}

/** A stored video of `videoMiB` MiB for a succeeded record, read by Range requests and by `fs.createReadStream`. */
async function measureRange(served: Served, sql: SqlClient): Promise<RangeResult> {
  const { rows } = await sql.query<{ generation_id: string; storage_uri: string }>(
    `SELECT generation_id, result->>'storage_uri' AS storage_uri FROM generations
     WHERE status = 'succeeded' ORDER BY generation_id LIMIT 1`,
  );
  const row = rows[0];
  if (!row) throw new Error("no succeeded record");
  const file = path.join(served.outputDir, "videos", path.posix.basename(row.storage_uri));
  await mkdir(path.dirname(file), { recursive: true });
  const size = videoMiB * MiB;
  // Incompressible bytes: nothing on the way compresses, so the size read is the size moved.
  await writeFile(file, randomFillSync(Buffer.allocUnsafe(size)));
  const mediaPath = `/media/${encodeURIComponent(row.generation_id)}/video.mp4`;

  const readBody = async (headers: Record<string, string>, expected: number) => {
    const response = await request(`${served.origin}${mediaPath}`, {
      dispatcher: served.agent,
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    });
    if (response.statusCode !== expected)
      throw new Error(`${mediaPath}: ${response.statusCode}, not ${expected}`);
    let bytes = 0;
    for await (const chunk of response.body) bytes += (chunk as Buffer).length;
    return bytes;
  };
  const readers = {
    plainFileRead: async () => {
      let bytes = 0;
      for await (const chunk of createReadStream(file)) bytes += (chunk as Buffer).length;
      return bytes;
    },
    wholeFile200: () => readBody({}, 200),
    openRange206: () => readBody({ range: "bytes=0-" }, 206),
    chunkedRange206: async () => {
      let bytes = 0;
      for (let start = 0; start < size; start += RANGE_CHUNK_BYTES) {
        const end = Math.min(size, start + RANGE_CHUNK_BYTES) - 1;
        bytes += await readBody({ range: `bytes=${start}-${end}` }, 206);
      }
      return bytes;
    },
  };
  const names = Object.keys(readers) as Array<keyof typeof readers>;
  // Warm: the page cache holds the file for every reader alike.
  for (const name of names) await readers[name]();
  // The readers take turns within each pass, so a burst of other work on the machine slows them alike.
  const rates = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    keyof typeof readers,
    number[]
  >;
  for (let pass = 0; pass < RANGE_PASSES; pass++) {
    for (const name of names) {
      const started = performance.now();
      const bytes = await readers[name]();
      if (bytes !== size) throw new Error(`${name} read ${bytes} bytes of ${size}`);
      rates[name].push(bytes / MiB / ((performance.now() - started) / 1000));
    }
  }
  const plainFileRead = median(rates.plainFileRead);
  const wholeFile200 = median(rates.wholeFile200);
  const openRange206 = median(rates.openRange206);
  const chunkedRange206 = median(rates.chunkedRange206);
  await rm(file);
  const result = {
    fileMiB: videoMiB,
    plainFileRead,
    wholeFile200,
    openRange206,
    chunkedRange206,
    passes: RANGE_PASSES,
    chunkMiB: RANGE_CHUNK_BYTES / MiB,
  };
  console.log(`range: ${JSON.stringify(result)}`);
  return result;
}

async function measureSize(
  adminUrl: string,
  records: number,
  withRange: boolean,
): Promise<{ size: SizeResult; range?: RangeResult }> {
  const database = await createTestDatabase(adminUrl);
  const sql = createPgSqlClient({ connectionString: database.url, max: 2 });
  let served: Served | undefined;
  try {
    await migrate(sql);
    const seedStarted = performance.now();
    const seeded = await seedGenerations(sql, { count: records });
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    served = await startServer(database.url);
    const cases: CaseResult[] = [];
    for (const httpCase of await casesFor(sql, seeded)) cases.push(await measureCase(served, httpCase));
    const range = withRange ? await measureRange(served, sql) : undefined;
    return { size: { records, seedSeconds, cases }, range };
  } finally {
    await served?.close();
    await sql.close();
    await database.drop();
  }
}

/** Other work on the machine inflates the tails: the load is written beside the numbers. */
const loadBefore = os.loadavg()[0] ?? 0;
const existing = process.env.DATABASE_URL;
const cluster = existing ? undefined : await startPostgresCluster();
const results: SizeResult[] = [];
let range: RangeResult | undefined;
let serverVersion = "";
try {
  const adminUrl = existing ?? (cluster?.url as string);
  const admin = createPgSqlClient({ connectionString: adminUrl, max: 1 });
  serverVersion =
    (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "";
  await admin.close();
  for (const [index, records] of sizes.entries()) {
    const measured = await measureSize(adminUrl, records, index === 0);
    results.push(measured.size);
    range ??= measured.range;
  }
} finally {
  await cluster?.destroy();
}

const ms = (value: number) => value.toFixed(1);
const measuredAt = new Date().toISOString().slice(0, 10);
const filtered = results.flatMap((size) =>
  size.cases.filter((each) => each.filtered).map((each) => ({ ...each, records: size.records })),
);
const worst = (kind: HttpCase["kind"]) =>
  filtered
    .filter((each) => each.kind === kind)
    .reduce((slowest, each) => (each.server.p95Ms > slowest.server.p95Ms ? each : slowest));
const worstHtml = worst("html");
const worstJson = worst("json");
const verdict = (each: typeof worstHtml) =>
  `${each.server.p95Ms < GOAL_P95_MS ? "**met**" : "**not met**"} (slowest: "${each.name}" at ${each.records.toLocaleString("en")} records, p95 ${ms(each.server.p95Ms)} ms)`;
const callsCell = (calls: Record<string, number>) =>
  Object.entries(calls)
    .sort(([, left], [, right]) => right - left)
    .map(([name, value]) => `${name.replace(/^(queries|store|objects)\./, "")} ${value.toFixed(1)}`)
    .join(", ");

/** Where the time of the gallery pages goes at one size, as a sentence from the medians. */
function whereTheTimeGoes(size: SizeResult): string {
  const pages = size.cases.filter((each) => each.kind === "html" && !each.name.startsWith("detail"));
  const sum = (pick: (each: CaseResult) => number) => pages.reduce((total, each) => total + pick(each), 0);
  const parts = sum((each) => each.parts.databaseMs + each.parts.handlerCpuMs + each.parts.adapterMs);
  const share = (value: number) => `${Math.round((100 * value) / parts)} %`;
  const biggest = pages.map((each) => {
    const [name, value] = Object.entries(each.calls).sort(([, left], [, right]) => right - left)[0] ?? [
      "none",
      0,
    ];
    return { page: each.name, call: name.replace(/^(queries|store)\./, ""), value };
  });
  const byCall = new Map<string, string[]>();
  for (const each of biggest) byCall.set(each.call, [...(byCall.get(each.call) ?? []), each.page]);
  const live = sum(
    (each) => (each.calls["queries.queuePositions"] ?? 0) + (each.calls["store.recentRenders"] ?? 0),
  );
  return `At ${size.records.toLocaleString("en")} records, over the ${pages.length} gallery pages (medians): the database ${share(sum((each) => each.parts.databaseMs))}, the handler's own work (views, progress estimates, HTML) ${share(sum((each) => each.parts.handlerCpuMs))}, the adapter ${share(sum((each) => each.parts.adapterMs))}; queue positions and render estimates together ${share(live)}. The slowest call of each page: ${[
    ...byCall,
  ]
    .map(([call, names]) => `\`${call}\` on ${names.length} (${names.join("; ")})`)
    .join(", ")}.`;
}

const sections = results.map(
  (size) => `### ${size.records.toLocaleString("en")} records

Seeded in ${size.seedSeconds.toFixed(1)} s. ${whereTheTimeGoes(size)}

| request | answer | server p50 ms | server p95 ms | round trip p50 / p95 ms | database · handler · adapter (median ms) | database calls (median ms) |
|---|--:|--:|--:|--:|---|---|
${size.cases
  .map(
    (each) =>
      `| ${each.kind === "html" ? "page" : "JSON"}: ${each.name}${each.filtered ? " †" : ""} | ${each.returned} · ${(each.bytes / 1024).toFixed(1)} KiB | ${ms(each.server.p50Ms)} | ${ms(each.server.p95Ms)} | ${ms(each.roundTrip.p50Ms)} / ${ms(each.roundTrip.p95Ms)} | ${ms(each.parts.databaseMs)} · ${ms(each.parts.handlerCpuMs)} · ${ms(each.parts.adapterMs)} | ${callsCell(each.calls)} |`,
  )
  .join("\n")}`,
);

const rangeSection = range
  ? `### Range reads of a ${range.fileMiB} MiB video

The same file (incompressible bytes under the local object store), warm in the page cache, read to the end ${range.passes}
times by each reader, the readers taking turns within each pass; median throughput. The client reads in this process.

| read | MiB/s | share of the plain read |
|---|--:|--:|
| \`fs.createReadStream\` of the file (no HTTP) | ${range.plainFileRead.toFixed(0)} | 100 % |
| \`GET /media/<id>/video.mp4\` (200, whole file) | ${range.wholeFile200.toFixed(0)} | ${((100 * range.wholeFile200) / range.plainFileRead).toFixed(0)} % |
| \`Range: bytes=0-\` (206, one response) | ${range.openRange206.toFixed(0)} | ${((100 * range.openRange206) / range.plainFileRead).toFixed(0)} % |
| \`Range\` in ${range.chunkMiB} MiB pieces (206, ${Math.ceil(range.fileMiB / range.chunkMiB)} requests) | ${range.chunkedRange206.toFixed(0)} | ${((100 * range.chunkedRange206) / range.plainFileRead).toFixed(0)} % |
`
  : "";

const markdown = `# Gallery and JSON API over HTTP

Command: \`node --import tsx bench/gallery-http-benchmark.ts --sizes ${sizes.join(",")} --iterations ${iterations} --video-mib ${videoMiB}\`. Date: ${measuredAt}.
Machine: ${describeMachine()}. PostgreSQL ${serverVersion} (a throw-away cluster: fsync off, default memory settings).
1-minute load average before / after the run: ${loadBefore.toFixed(1)} / ${(os.loadavg()[0] ?? 0).toFixed(1)}.

The server \`video-gen serve\` builds (composeStage, the operator routes with a token, createStageServer, the local
object store), on 127.0.0.1 in the benchmark's process; every request carries the bearer token. ${iterations} sequential
requests per row after ${WARM_UP_RUNS} warm-up requests, on one keep-alive connection. **Server** time runs from Node's
\`request\` event to the response's \`finish\` (the last byte handed to the socket); the **round trip** is what the client
waited, body read. The server's time is split into the **database** (the metadata store's and the queries' calls,
overlapping calls counted once), the **handler**'s own work (building the views and progress estimates, rendering
HTML or JSON) and the **adapter** (Node request → Fetch \`Request\`, the \`Response\` streamed to the socket). Records
from \`bench/seed-generations.ts\`, as in "Gallery queries on PostgreSQL": 90 days, 24 in flight at the newest end
(so the unfiltered first page shows 24 live cards, with queue positions and render estimates), 24 records a page.
† a filtered page: the goal applies. The plans of the queries behind these pages are in "Gallery queries on
PostgreSQL" (\`bench/gallery-query-benchmark.ts\`).

**Goal** (p95 < ${GOAL_P95_MS} ms of server time for a filtered page): gallery page ${verdict(worstHtml)}; JSON ${verdict(worstJson)}.

${sections.join("\n\n")}

${rangeSection}`;

await writeFile("bench/results/gallery-http.md", markdown);
await writeFile(
  "bench/results/gallery-http.json",
  `${JSON.stringify({ measuredAt, machine: describeMachine(), serverVersion, load: { before: loadBefore, after: os.loadavg()[0] }, iterations, results, range }, null, 2)}\n`,
);
console.log(markdown);
