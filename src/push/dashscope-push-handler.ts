import { safeEqual } from "../net/safe-equal.ts";
import type { EventBridgeVerifier } from "./eventbridge-verifier.ts";
import { ASYNC_TASK_FINISH, parseTaskFinishDelivery } from "./task-finish-delivery.ts";

/** The route prefix; the secret is the path's last segment: `POST /hooks/dashscope/<secret>`. */
export const DASHSCOPE_PUSH_PATH = "/hooks/dashscope/";

/** Largest delivery body read, bytes (a task-finish event is about 1 KB). */
const MAX_BODY_BYTES = 64 * 1024;

/** The generation a task belongs to, as the metadata store knows it. */
export interface TaskOwner {
  generationId: string;
  /** True when the generation has already ended (succeeded, failed or canceled): a push changes nothing. */
  ended: boolean;
}

/** The event the handler sends (the shape of `video/generation.task-ended`). */
export interface TaskEndedEvent {
  /** `task-ended-<task_id>`: Inngest keeps one event per id, so duplicate and late deliveries are no-ops. */
  id: string;
  name: "video/generation.task-ended";
  data: { generation_id: string; task_id: string; task_status: string; source: "push" };
}

/** Options of {@link createDashscopePushHandler}. */
export interface DashscopePushHandlerOptions {
  /** The secret in the target URL (at least 16 characters), compared in constant time. */
  secret: string;
  /** Verifies EventBridge's signature. */
  verifier: EventBridgeVerifier;
  /** The generation of a provider task this deployment submitted, or null. */
  findGenerationByTaskId: (taskId: string) => Promise<TaskOwner | null>;
  /** Sends the event (normally `inngest.send`). */
  send: (event: TaskEndedEvent) => Promise<unknown>;
  /**
   * The URL EventBridge calls, when it differs from the request's (behind a proxy that rewrites scheme or host); the
   * signature covers it. Default: the request URL.
   */
  publicUrl?: string;
}

/**
 * Receives DashScope's task-finish pushes from EventBridge: 401 for a wrong secret or a bad signature (nothing done),
 * 200 for a task this deployment does not know or a generation already ended, otherwise one `task-ended` event and
 * 204. A failed send answers 500 so EventBridge retries. The answers carry no details a prober could use.
 */
export function createDashscopePushHandler(
  options: DashscopePushHandlerOptions,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST" } });
    const url = new URL(request.url);
    // Compared as it appears in the path: the documented secret alphabet needs no escaping.
    const given = url.pathname.startsWith(DASHSCOPE_PUSH_PATH)
      ? url.pathname.slice(DASHSCOPE_PUSH_PATH.length)
      : "";
    if (!safeEqual(given, options.secret)) return unauthorized();
    const body = await readBody(request);
    if (body === null) return new Response(null, { status: 413 });
    if (!(await signed(request, body))) return unauthorized();
    const delivery = parseTaskFinishDelivery(body);
    if (delivery === null) return json(400, { error: "not a task-finish event" });
    if (delivery.type !== ASYNC_TASK_FINISH) return json(200, { ignored: "event type" });
    const { task_id, task_status } = delivery.data;
    const owner = await options.findGenerationByTaskId(task_id);
    // The event covers every task of the account; another client's task is none of this deployment's business.
    if (owner === null) return json(200, { ignored: "unknown task" });
    if (owner.ended) return json(200, { ignored: "already ended" });
    try {
      await options.send({
        id: `task-ended-${task_id}`,
        name: "video/generation.task-ended",
        data: { generation_id: owner.generationId, task_id, task_status, source: "push" },
      });
    } catch {
      return json(500, { error: "could not record the push; retry" });
    }
    return new Response(null, { status: 204 });
  };

  /**
   * The signature covers the URL EventBridge called. Behind a TLS proxy the request arrives as http://, so the
   * https:// form of the same URL is tried too; scheme aside, host, path and body are still what was signed.
   */
  async function signed(request: Request, body: string): Promise<boolean> {
    const urls = options.publicUrl
      ? [options.publicUrl]
      : [request.url, request.url.replace(/^http:/, "https:")];
    for (const url of new Set(urls)) {
      const verdict = await options.verifier.verify({ url, headers: request.headers, body });
      if (verdict.ok) return true;
      if (verdict.reason !== "signature") return false;
    }
    return false;
  }
}

function unauthorized(): Response {
  return json(401, { error: "unauthorized" });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

async function readBody(request: Request): Promise<string | null> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) return null;
  const text = await request.text();
  return Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES ? null : text;
}
