import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for the Inngest server, kept only for faults a real server will not produce on demand (a checkpoint API
 * that fails, a response lost after a step ran); everything else runs on the real server (test/engine). It speaks
 * the protocol the real executor speaks to SDK v4 (reference/inngest.md §2.3, §6.5):
 * - it calls `POST <serve url>?fnId=<app>-<fn>&stepId=step` with `ctx.fn_id` and `ctx.qi_id`, so the SDK runs in its
 *   checkpointing mode, signed like Inngest Cloud;
 * - the SDK POSTs the steps it ran to `<api>/v1/checkpoint/<runId>/async` (the fake API below), which the executor
 *   takes as memoized state;
 * - a 206 answer carries the next ops (`Sleep`, `StepRun` when checkpointing failed, `StepPlanned`, ...) and
 *   `RunComplete` ends the run with its output;
 * - failed requests are retried with the next attempt, as the real executor does.
 */

/** RFC 8785-style canonical JSON for plain JSON values: keys sorted at every level. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** `x-inngest-signature: t=<unix seconds>&s=<hex HMAC-SHA256(key without its signkey-<env>- prefix, canonical body + t)>`. */
export function signRequest(body: unknown, signingKey: string, at = Math.floor(Date.now() / 1000)): string {
  const key = signingKey.replace(/^signkey-\w+-/, "");
  const message = (body === undefined ? "" : canonicalJson(body)) + at;
  return `t=${at}&s=${createHmac("sha256", key).update(message).digest("hex")}`;
}

/** One op as the SDK reports it, in a 206 answer or a checkpoint. */
export interface Op {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: unknown;
}

/** The fake Inngest API the SDK talks to: the event API and the checkpoint API. */
export interface FakeInngestApi {
  /** What the SDK's client `baseUrl` is set to. */
  url: string;
  /** Events received on `POST /e/<key>`. */
  events: Array<{ name: string; data: unknown }>;
  /** Takes (and forgets) the ops checkpointed for a run since the last call. */
  takeCheckpoints(runId: string): Op[];
  /** Checkpoint posts answered so far: `accepted` stored, `refused` answered 500 by `refuseCheckpoints`. */
  checkpointPosts(): { accepted: number; refused: number };
  /** While set, a checkpoint post holding a step with this display name is answered 500 (the API is failing). */
  refuseCheckpoints(stepName: string | undefined): void;
  /** Paths the SDK called that this fake does not implement (a test should expect none). */
  unknownCalls: string[];
  close(): Promise<void>;
}

/** Starts the fake API on 127.0.0.1. Checkpoint posts must carry `Authorization: Bearer …`, as the real API requires. */
export async function startFakeInngestApi(): Promise<FakeInngestApi> {
  const events: Array<{ name: string; data: unknown }> = [];
  const checkpoints = new Map<string, Op[]>();
  const unknownCalls: string[] = [];
  const counts = { accepted: 0, refused: 0 };
  let refusedStep: string | undefined;
  const answer = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const path = new URL(request.url ?? "/", "http://fake").pathname;
      if (request.method === "POST" && path.startsWith("/e/")) {
        const parsed = JSON.parse(text || "[]");
        const sent = Array.isArray(parsed) ? parsed : [parsed];
        events.push(...sent);
        return answer(response, 200, { ids: sent.map(() => randomUUID()), status: 200 });
      }
      const checkpoint = /^\/v1\/checkpoint\/([^/]+)\/async$/.exec(path);
      if (request.method === "POST" && checkpoint) {
        if (!/^Bearer \S+/.test(request.headers.authorization ?? "")) {
          return answer(response, 401, { error: "authentication failed" });
        }
        const body = JSON.parse(text) as { run_id: string; fn_id: string; qi_id: string; steps: Op[] };
        if (refusedStep && body.steps.some((step) => (step.displayName ?? step.name) === refusedStep)) {
          counts.refused += 1;
          return answer(response, 500, { error: "checkpoint store unavailable" });
        }
        counts.accepted += 1;
        const runId = decodeURIComponent(checkpoint[1]!);
        checkpoints.set(runId, [...(checkpoints.get(runId) ?? []), ...body.steps]);
        return answer(response, 200, {});
      }
      unknownCalls.push(`${request.method} ${path}`);
      return answer(response, 404, { error: "not implemented by the fake" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    takeCheckpoints(runId) {
      const taken = checkpoints.get(runId) ?? [];
      checkpoints.delete(runId);
      return taken;
    },
    checkpointPosts: () => ({ ...counts }),
    refuseCheckpoints(stepName) {
      refusedStep = stepName;
    },
    unknownCalls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface ExecutorRun {
  status: "completed" | "failed";
  /** The function's output (`RunComplete` data) or the serialized error of the last attempt. */
  output: unknown;
  /** Step names in the order they were memoized; `name!` marks a failed attempt, `name!!` a step that failed for good. */
  ranSteps: string[];
  requests: number;
  /** Responses the executor dropped on purpose (`loseResponseAfterStep`). */
  lostResponses: number;
}

/** Runs one function to its end through its serve endpoint, as Inngest's executor does. */
export async function executeOverHttp(options: {
  url: string;
  functionId: string;
  event: { name: string; data: unknown };
  api: FakeInngestApi;
  signingKey?: string;
  maxAttempts?: number;
  maxRequests?: number;
  sleepPauseMs?: number;
  /**
   * Drops the first response that reports this step as run (as if the connection broke after the step ran and
   * before its result arrived) and calls again with the next attempt: the step runs a second time.
   */
  loseResponseAfterStep?: string;
}): Promise<ExecutorRun> {
  const runId = randomUUID();
  const functionUuid = randomUUID();
  const event = { ...options.event, id: randomUUID(), ts: Date.now() };
  const steps: Record<string, unknown> = {};
  const stack: string[] = [];
  const ranSteps: string[] = [];
  const maxAttempts = options.maxAttempts ?? 4;
  const planned: string[] = [];
  let attempt = 0;
  let lostResponses = 0;
  let requests = 0;
  let loseAfter = options.loseResponseAfterStep;
  // Set by `memoize` when the SDK reports RunComplete; read through `completion()` so checks are not narrowed away.
  const ended: { output?: { value: unknown } } = {};
  const completion = (): ExecutorRun | undefined =>
    ended.output && { status: "completed", output: ended.output.value, ranSteps, requests, lostResponses };

  const memoize = (op: Op) => {
    const name = op.displayName ?? op.name ?? op.id;
    switch (op.op) {
      case "RunComplete":
        ended.output = { value: op.data ?? null };
        return;
      case "StepRun":
      case "Step":
        ranSteps.push(name);
        steps[op.id] = { type: "data", data: op.data ?? null };
        stack.push(op.id);
        attempt = 0;
        return;
      case "Sleep":
      case "WaitForEvent":
        steps[op.id] = null;
        stack.push(op.id);
        return;
      case "StepError":
        ranSteps.push(`${name}!`);
        attempt += 1;
        return;
      case "StepFailed":
        ranSteps.push(`${name}!!`);
        steps[op.id] = { type: "error", error: op.error };
        stack.push(op.id);
        attempt = 0;
        return;
      case "StepPlanned":
        planned.push(op.id);
        return;
      case "DiscoveryRequest":
        return;
      default:
        throw new Error(`fake executor: unhandled op ${op.op}`);
    }
  };

  const maxRequests = options.maxRequests ?? 500;
  while (requests < maxRequests) {
    requests += 1;
    const stepId = planned.shift() ?? "step";
    const body = {
      event,
      events: [event],
      steps,
      ctx: {
        run_id: runId,
        fn_id: functionUuid,
        qi_id: `${runId}:${requests}`,
        attempt,
        max_attempts: maxAttempts,
        disable_immediate_execution: false,
        stack: { stack, current: stack.length },
      },
      version: 2,
    };
    const response = await fetch(
      `${options.url}?fnId=${encodeURIComponent(options.functionId)}&stepId=${encodeURIComponent(stepId)}`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(options.signingKey ? { "x-inngest-signature": signRequest(body, options.signingKey) } : {}),
        },
        body: JSON.stringify(body),
      },
    );
    const payload = await response.json().catch(() => null);
    // What the SDK checkpointed during the request is the server's state whatever happens to the response.
    for (const op of options.api.takeCheckpoints(runId)) memoize(op);
    const checkpointedCompletion = completion();
    if (checkpointedCompletion) return checkpointedCompletion;

    if (response.status === 206 && Array.isArray(payload)) {
      const ops = payload as Op[];
      if (loseAfter && ops.some((op) => op.op === "StepRun" && (op.displayName ?? op.name) === loseAfter)) {
        loseAfter = undefined;
        lostResponses += 1;
        attempt += 1;
        continue;
      }
      for (const op of ops) memoize(op);
      const answeredCompletion = completion();
      if (answeredCompletion) return answeredCompletion;
      if (ops.some((op) => op.op === "Sleep" || op.op === "WaitForEvent")) {
        await new Promise((resolve) => setTimeout(resolve, options.sleepPauseMs ?? 40));
      }
      continue;
    }
    if (response.status === 200)
      return { status: "completed", output: payload, ranSteps, requests, lostResponses };
    const final = response.headers.get("x-inngest-no-retry") === "true" || attempt + 1 >= maxAttempts;
    if (final) return { status: "failed", output: payload, ranSteps, requests, lostResponses };
    attempt += 1;
  }
  throw new Error("fake executor: too many requests");
}
