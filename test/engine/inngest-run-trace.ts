import { z } from "zod";
import { queryInngestGraphql, type RunStatus } from "./inngest-api.ts";

/**
 * What the dashboard shows of runs and events, read through the server's GraphQL API (`pkg/coreapi/*.graphql` of
 * v1.43.0): every run and event since a moment (paginated, unlike `runsSince` and `GET /v1/events`), a run's trace
 * with one span per step, and a step's output. Counting steps here counts what the server stored, not what the SDK
 * believes it sent.
 */

/** Step kinds as the trace names them (`StepOp`). */
export type StepOp = "RUN" | "SLEEP" | "WAIT_FOR_EVENT" | "INVOKE" | "AI_GATEWAY" | "WAIT_FOR_SIGNAL";

/** One step of a run, as its trace span reports it. Times are epoch milliseconds of the server's clock. */
export interface TracedStep {
  /** The step id the function gave it (`validate`, `wait-0`, `slot-wait-3`, ...). */
  name: string;
  op: StepOp;
  status: string;
  /** Attempts the server made (1 unless the step was retried). */
  attempts: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** For `runStepOutput`; null while the step has none. */
  outputId: string | null;
  /** `step.waitForEvent`: whether it ended by its timeout rather than by a matching event. */
  timedOut?: boolean;
}

/** A run with its steps in the order the trace lists them (the order they started). */
export interface RunTrace {
  runId: string;
  status: RunStatus;
  steps: TracedStep[];
}

/** A run as the dashboard's run list reports it, with the events that triggered it. */
export interface ListedRunV2 {
  id: string;
  status: RunStatus;
  functionSlug: string;
  eventName: string | null;
  triggerIds: string[];
  queuedAt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
}

/** An event the server stored, with the time it received it (epoch ms). */
export interface ReceivedEvent {
  id: string;
  name: string;
  receivedAt: number;
  data: Record<string, unknown>;
}

const time = z.string().transform((value) => Date.parse(value));
const optionalTime = time.nullish().transform((value) => value ?? undefined);

const spanSchema = z.object({
  name: z.string(),
  status: z.string(),
  stepOp: z.string().nullable(),
  startedAt: optionalTime,
  endedAt: optionalTime,
  outputID: z.string().nullable(),
  stepInfo: z.object({ timedOut: z.boolean().nullish() }).nullable(),
});

const runTraceSchema = z.object({
  run: z
    .object({
      status: z.string(),
      trace: z.object({ childrenSpans: z.array(spanSchema) }).nullable(),
    })
    .nullable(),
});

const pageInfoSchema = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });

const runsPageSchema = z.object({
  runs: z.object({
    edges: z.array(
      z.object({
        node: z.object({
          id: z.string(),
          status: z.string(),
          eventName: z.string().nullable(),
          triggerIDs: z.array(z.string()),
          queuedAt: time,
          startedAt: optionalTime,
          endedAt: optionalTime,
          function: z.object({ slug: z.string() }),
        }),
      }),
    ),
    pageInfo: pageInfoSchema,
  }),
});

const eventsPageSchema = z.object({
  eventsV2: z.object({
    edges: z.array(
      z.object({ node: z.object({ id: z.string(), name: z.string(), receivedAt: time, raw: z.string() }) }),
    ),
    pageInfo: pageInfoSchema,
  }),
});

/** Runs a page. */
const RUNS_PAGE_SIZE = 100;
/** Events a page: the server answers at most 51 (`cqrs.MaxEvents`) and falls back to 40 above that. */
const EVENTS_PAGE_SIZE = 50;

const RUN_TRACE_QUERY = `query ($runID: String!) {
  run(runID: $runID) {
    status
    trace(preview: true) {
      childrenSpans {
        name status stepOp startedAt endedAt outputID
        stepInfo { ... on WaitForEventStepInfo { timedOut } }
      }
    }
  }
}`;

const RUNS_QUERY = `query ($from: Time!, $after: String) {
  runs(first: ${RUNS_PAGE_SIZE}, after: $after, orderBy: [{ field: QUEUED_AT, direction: ASC }], filter: { from: $from }) {
    edges { node { id status eventName triggerIDs queuedAt startedAt endedAt function { slug } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const EVENTS_QUERY = `query ($from: Time!, $names: [String!], $after: String) {
  eventsV2(first: ${EVENTS_PAGE_SIZE}, after: $after, filter: { from: $from, eventNames: $names }) {
    edges { node { id name receivedAt raw } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * A run's steps from its trace (`trace(preview: true)`, the span-based trace the dashboard draws; the legacy trace
 * leaves out steps a checkpointing SDK reported). Spans that are not steps (`executor.nonstep`, the function's own
 * finishing call) are left out. The server lists each attempt of a retried step as a span of its own under the same
 * step id: they make one step, whose attempts are counted.
 */
export async function fetchRunTrace(url: string, runId: string): Promise<RunTrace> {
  const { run } = runTraceSchema.parse(await queryInngestGraphql(url, RUN_TRACE_QUERY, { runID: runId }));
  if (!run) throw new Error(`run ${runId} is unknown to the server`);
  const steps = new Map<string, TracedStep>();
  for (const span of run.trace?.childrenSpans ?? []) {
    if (span.stepOp === null) continue;
    const seen = steps.get(span.name);
    const timedOut = span.stepInfo?.timedOut ?? undefined;
    steps.set(span.name, {
      name: span.name,
      op: span.stepOp as StepOp,
      status: span.status,
      attempts: (seen?.attempts ?? 0) + 1,
      startedAt: seen?.startedAt ?? span.startedAt,
      endedAt: span.endedAt ?? seen?.endedAt,
      outputId: span.outputID ?? seen?.outputId ?? null,
      ...(timedOut === undefined ? {} : { timedOut }),
    });
  }
  return { runId, status: run.status as RunStatus, steps: [...steps.values()] };
}

/** A step's output (`runTraceSpanOutputByID`): the value the step returned, as the server stored it. */
export async function fetchStepOutput(url: string, outputId: string): Promise<unknown> {
  const data = z
    .object({ runTraceSpanOutputByID: z.object({ data: z.string().nullable() }) })
    .parse(
      await queryInngestGraphql(
        url,
        "query ($id: String!) { runTraceSpanOutputByID(outputID: $id) { data } }",
        { id: outputId },
      ),
    );
  const text = data.runTraceSpanOutputByID.data;
  if (text === null) return undefined;
  const parsed: unknown = JSON.parse(text);
  // Step outputs are stored as `{ "data": <value> }`.
  return parsed && typeof parsed === "object" && "data" in parsed
    ? (parsed as { data: unknown }).data
    : parsed;
}

/** Every run queued since `from`, oldest first, all pages. */
export async function listRunsSince(url: string, from: Date): Promise<ListedRunV2[]> {
  const runs = new Map<string, ListedRunV2>();
  let after: string | null = null;
  for (;;) {
    const { runs: page } = runsPageSchema.parse(
      await queryInngestGraphql(url, RUNS_QUERY, { from: from.toISOString(), after }),
    );
    const before = runs.size;
    for (const { node } of page.edges) {
      runs.set(node.id, {
        id: node.id,
        status: node.status as RunStatus,
        functionSlug: node.function.slug,
        eventName: node.eventName,
        triggerIds: node.triggerIDs,
        queuedAt: node.queuedAt,
        startedAt: node.startedAt,
        endedAt: node.endedAt,
      });
    }
    // A page that adds nothing new ends the walk too: the server's cursor semantics are its own.
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || runs.size === before) break;
    after = page.pageInfo.endCursor;
  }
  return [...runs.values()];
}

/** Every event named one of `names` received since `from`, all pages (newest first, as the server lists them). */
export async function listEventsSince(url: string, names: string[], from: Date): Promise<ReceivedEvent[]> {
  const events = new Map<string, ReceivedEvent>();
  let after: string | null = null;
  for (;;) {
    const { eventsV2: page } = eventsPageSchema.parse(
      await queryInngestGraphql(url, EVENTS_QUERY, { from: from.toISOString(), names, after }),
    );
    const before = events.size;
    for (const { node } of page.edges) {
      const raw = JSON.parse(node.raw) as { data?: Record<string, unknown> | null };
      events.set(node.id, {
        id: node.id,
        name: node.name,
        receivedAt: node.receivedAt,
        data: raw.data ?? {},
      });
    }
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || events.size === before) break;
    after = page.pageInfo.endCursor;
  }
  return [...events.values()];
}
