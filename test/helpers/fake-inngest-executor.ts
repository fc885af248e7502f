import { createHash, createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small stand-in for the Inngest executor (no Inngest server can run here; reference/inngest.md §6.3): it drives a
 * real `serve()` endpoint over HTTP with protocol v2 — memoized steps, sleeps answered (after a short real pause,
 * since the sandbox renders in real time), step errors retried with the next attempt — and signs every request like
 * Inngest Cloud. It tests the SDK side only: flow control, cancelOn and real sleeps are the server's and are not here.
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

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

export interface ExecutorRun {
  status: "completed" | "failed";
  /** Function output (completed) or the serialized error (failed). */
  output: unknown;
  /** Step names in the order they ran (including retries). */
  ranSteps: string[];
  requests: number;
}

export interface Op {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: unknown;
}

/** Runs one function to its end through `POST <url>?fnId=…`, like Inngest's executor would. */
export async function executeOverHttp(options: {
  url: string;
  functionId: string;
  event: { name: string; data: unknown };
  signingKey?: string;
  maxAttempts?: number;
  maxRequests?: number;
  sleepPauseMs?: number;
}): Promise<ExecutorRun> {
  const runId = randomUUID();
  const event = { ...options.event, id: randomUUID(), ts: Date.now() };
  const steps: Record<string, unknown> = {};
  const stack: string[] = [];
  const ranSteps: string[] = [];
  const maxAttempts = options.maxAttempts ?? 4;
  let attempt = 0;
  for (let requests = 1; requests <= (options.maxRequests ?? 500); requests++) {
    const body = {
      event,
      events: [event],
      steps,
      ctx: { run_id: runId, attempt, max_attempts: maxAttempts, stack: { stack, current: stack.length } },
      version: 2,
    };
    const response = await fetch(
      `${options.url}?fnId=${encodeURIComponent(options.functionId)}&stepId=step`,
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
    if (response.status === 200) return { status: "completed", output: payload, ranSteps, requests };
    if (response.status !== 206) {
      const final = response.headers.get("x-inngest-no-retry") === "true" || attempt + 1 >= maxAttempts;
      if (final) return { status: "failed", output: payload, ranSteps, requests };
      attempt++;
      continue;
    }
    for (const op of payload as Op[]) {
      if (op.op === "StepRun" || op.op === "Step") {
        ranSteps.push(op.name ?? op.id);
        steps[op.id] = { type: "data", data: op.data ?? null };
        stack.push(op.id);
        attempt = 0;
      } else if (op.op === "Sleep" || op.op === "WaitForEvent") {
        await new Promise((resolve) => setTimeout(resolve, options.sleepPauseMs ?? 40));
        steps[op.id] = null;
        stack.push(op.id);
      } else if (op.op === "StepError") {
        ranSteps.push(`${op.name ?? op.id}!`);
        attempt++;
      } else if (op.op === "StepFailed") {
        ranSteps.push(`${op.name ?? op.id}!!`);
        steps[op.id] = { type: "error", error: op.error };
        stack.push(op.id);
        attempt = 0;
      } else {
        throw new Error(`fake executor: unhandled op ${op.op}`);
      }
    }
  }
  throw new Error("fake executor: too many requests");
}

/** A fake Inngest event API (`POST /e/<key>`) that records what the SDK sends. */
export async function startFakeEventApi(): Promise<{
  url: string;
  events: Array<{ name: string; data: unknown }>;
  close(): Promise<void>;
}> {
  const events: Array<{ name: string; data: unknown }> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method === "POST" && request.url?.startsWith("/e/")) {
        const parsed = JSON.parse(Buffer.concat(chunks).toString() || "[]");
        const sent = Array.isArray(parsed) ? parsed : [parsed];
        events.push(...sent);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ ids: sent.map(() => randomUUID()), status: 200 }));
        return;
      }
      response.writeHead(404);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export { sha1 };
