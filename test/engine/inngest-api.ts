import { z } from "zod";
import { WaitAborted, waitUntil } from "./wait-until.ts";

/** Run statuses as the server's GraphQL API reports them. */
export type RunStatus = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED" | "SKIPPED";

/** An event as `GET /v1/events` returns it. */
export interface StoredEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
  ts: number;
}

/** A run as the dashboard's `runs` query lists it. */
export interface ListedRun {
  id: string;
  status: RunStatus;
  eventName: string | null;
  functionSlug: string;
  queuedAt: string;
}

/**
 * What users and dashboards call on an Inngest server (reference/inngest.md §6.3): the event API, REST v1/v2 and the
 * GraphQL operations of the dashboard. Argument names are the server's own (pkg/coreapi/gql.*.graphql of v1.43.0).
 */
export interface InngestApi {
  url: string;
  /** `POST /e/<event key>`; the ids of the stored events, in order. */
  sendEvents(events: Array<{ name: string; data: Record<string, unknown> }>): Promise<string[]>;
  /** GraphQL `eventV2(id) { runs { id status } }`. */
  eventRuns(eventId: string): Promise<Array<{ id: string; status: RunStatus }>>;
  /** Waits until the event has started `count` runs (default 1) and returns them. */
  waitForEventRuns(eventId: string, count?: number, timeoutMs?: number): Promise<Array<{ id: string }>>;
  /** `GET /v2/runs/<id>?includeOutput=true`: the status and the function's return value. */
  run(runId: string): Promise<{ status: string; output: unknown }>;
  /** Waits until the run's status (GraphQL `run(runID)`) is one of `statuses`; fails early on another ending. */
  waitForRunStatus(runId: string, statuses: RunStatus[], timeoutMs?: number): Promise<RunStatus>;
  /** `GET /v1/events?name=<name>&limit=100`, newest first. */
  eventsByName(name: string): Promise<StoredEvent[]>;
  /** Waits until `count` events named `name` match `predicate` (default 1) and returns the matches. */
  waitForEvents(
    name: string,
    predicate: (event: StoredEvent) => boolean,
    options?: { count?: number; timeoutMs?: number },
  ): Promise<StoredEvent[]>;
  /** `DELETE /v1/runs/<id>`: the REST API's cancel. */
  cancelRunRest(runId: string): Promise<void>;
  /** GraphQL `cancelRun(runID)`: the dashboard's Cancel button. */
  cancelRunDashboard(runId: string): Promise<void>;
  /** GraphQL `rerun(runID)`: the dashboard's Rerun; the new run's id. */
  rerun(runId: string): Promise<string>;
  /** GraphQL `invokeFunction(functionSlug, data)`: the dashboard's Invoke button (event `inngest/function.invoked`). */
  invokeFunction(functionSlug: string, data: Record<string, unknown>): Promise<void>;
  /** GraphQL `runs(filter: { from })`, newest first: the dashboard's run list. */
  runsSince(from: Date): Promise<ListedRun[]>;
  /**
   * Waits until every run queued since `from` has ended, twice in a row a second apart (an event sent by the last
   * step of a run starts its runs a moment later): then nothing more will happen on its own.
   */
  waitForAllRunsEnded(from: Date, timeoutMs?: number): Promise<ListedRun[]>;
}

const ENDED: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED", "SKIPPED"]);

const sendResponseSchema = z.object({ ids: z.array(z.string()), status: z.number() });
const storedEventSchema = z.object({
  id: z.string(),
  name: z.string(),
  data: z
    .record(z.string(), z.unknown())
    .nullable()
    .transform((data) => data ?? {}),
  ts: z.number(),
});
const runResponseSchema = z.object({ data: z.object({ status: z.string(), output: z.unknown() }) });

/** One operation of the server's GraphQL API (`POST /v0/gql`, what the dashboard calls); fails on any error. */
export async function queryInngestGraphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`${url}/v0/gql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length || !body.data) {
    throw new Error(`GraphQL: ${body.errors?.map((error) => error.message).join("; ") ?? response.status}`);
  }
  return body.data;
}

export function createInngestApi(options: {
  url: string;
  /** Event key for `/e/`; the dev server takes any. */
  eventKey?: string;
  /** Sent as `Authorization: Bearer …` to REST v1/v2 (required by `inngest start`). */
  signingKey?: string;
}): InngestApi {
  const { url } = options;
  const authorization: Record<string, string> = options.signingKey
    ? { authorization: `Bearer ${options.signingKey}` }
    : {};

  const rest = async (method: string, path: string): Promise<unknown> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: authorization,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const graphql = <T>(query: string, variables: Record<string, unknown>) =>
    queryInngestGraphql<T>(url, query, variables);

  const api: InngestApi = {
    url,
    async sendEvents(events) {
      const response = await fetch(`${url}/e/${options.eventKey ?? "test"}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`POST /e/: ${response.status} ${text}`);
      return sendResponseSchema.parse(JSON.parse(text)).ids;
    },
    async eventRuns(eventId) {
      const data = await graphql<{ eventV2: { runs: Array<{ id: string; status: RunStatus }> } }>(
        "query ($id: ULID!) { eventV2(id: $id) { runs { id status } } }",
        { id: eventId },
      );
      return data.eventV2.runs;
    },
    waitForEventRuns(eventId, count = 1, timeoutMs = 60_000) {
      return waitUntil(
        `${count} run(s) of event ${eventId}`,
        async () => {
          const runs = await api.eventRuns(eventId);
          return runs.length >= count ? runs : undefined;
        },
        { timeoutMs },
      );
    },
    async run(runId) {
      return runResponseSchema.parse(await rest("GET", `/v2/runs/${runId}?includeOutput=true`)).data;
    },
    waitForRunStatus(runId, statuses, timeoutMs = 120_000) {
      return waitUntil(
        `run ${runId} to be ${statuses.join(" or ")}`,
        async () => {
          const data = await graphql<{ run: { status: RunStatus } | null }>(
            "query ($runID: String!) { run(runID: $runID) { status } }",
            { runID: runId },
          );
          const status = data.run?.status;
          if (status && statuses.includes(status)) return status;
          if (status && ENDED.has(status)) {
            const { output } = await api.run(runId).catch(() => ({ output: undefined }));
            throw new WaitAborted(
              `run ${runId} ended ${status}, expected ${statuses.join(" or ")}: ${JSON.stringify(output)}`,
            );
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 300 },
      );
    },
    async eventsByName(name) {
      const body = z
        .object({ data: z.array(storedEventSchema) })
        .parse(await rest("GET", `/v1/events?name=${encodeURIComponent(name)}&limit=100`));
      return body.data;
    },
    waitForEvents(name, predicate, waitOptions = {}) {
      const count = waitOptions.count ?? 1;
      return waitUntil(
        `${count} ${name} event(s) matching`,
        async () => {
          const matching = (await api.eventsByName(name)).filter(predicate);
          return matching.length >= count ? matching : undefined;
        },
        { timeoutMs: waitOptions.timeoutMs ?? 120_000, intervalMs: 500 },
      );
    },
    async cancelRunRest(runId) {
      await rest("DELETE", `/v1/runs/${runId}`);
    },
    async cancelRunDashboard(runId) {
      await graphql("mutation ($runID: ULID!) { cancelRun(runID: $runID) { id } }", { runID: runId });
    },
    async rerun(runId) {
      const data = await graphql<{ rerun: string }>("mutation ($runID: ULID!) { rerun(runID: $runID) }", {
        runID: runId,
      });
      return data.rerun;
    },
    async invokeFunction(functionSlug, data) {
      const result = await graphql<{ invokeFunction: boolean | null }>(
        "mutation ($functionSlug: String!, $data: Map) { invokeFunction(functionSlug: $functionSlug, data: $data) }",
        { functionSlug, data },
      );
      if (result.invokeFunction !== true)
        throw new Error(`invokeFunction(${functionSlug}) answered ${result.invokeFunction}`);
    },
    async runsSince(from) {
      const data = await graphql<{
        runs: {
          edges: Array<{
            node: {
              id: string;
              status: RunStatus;
              eventName: string | null;
              queuedAt: string;
              function: { slug: string };
            };
          }>;
        };
      }>(
        `query ($from: Time!) {
          runs(first: 100, orderBy: [{ field: QUEUED_AT, direction: DESC }], filter: { from: $from }) {
            edges { node { id status eventName queuedAt function { slug } } }
          }
        }`,
        { from: from.toISOString() },
      );
      return data.runs.edges.map(({ node }) => ({
        id: node.id,
        status: node.status,
        eventName: node.eventName,
        functionSlug: node.function.slug,
        queuedAt: node.queuedAt,
      }));
    },
    async waitForAllRunsEnded(from, timeoutMs = 120_000) {
      let quietSince: number | undefined;
      return waitUntil(
        `every run since ${from.toISOString()} to end`,
        async () => {
          const runs = await api.runsSince(from);
          if (runs.some((listed) => !ENDED.has(listed.status))) {
            quietSince = undefined;
            return undefined;
          }
          quietSince ??= Date.now();
          return Date.now() - quietSince >= 1_000 ? runs : undefined;
        },
        { timeoutMs, intervalMs: 500 },
      );
    },
  };
  return api;
}
