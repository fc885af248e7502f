import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import ipaddr from "ipaddr.js";
import { Agent } from "undici";
import { z } from "zod";
import { WAN_MODEL, type WanFrameRule } from "../contract/wan-model.ts";
import { ConfigurationError } from "../errors/configuration-error.ts";
import { locateFfmpeg } from "../media/ffmpeg-path.ts";
import {
  type ActiveFault,
  createFaultState,
  type FaultController,
  type FaultRoute,
  faultCommandSchema,
} from "./sandbox-faults.ts";
import {
  faultErrors,
  JSON_UTF8_TYPE,
  SandboxApiError,
  sendApiError,
  sendJson,
  sendOssError,
  throttlingError,
} from "./sandbox-http.ts";
import { createImageHostRule, loadSubmittedImage } from "./sandbox-images.ts";
import { createRateLimiter } from "./sandbox-rate-limit.ts";
import { createSandboxRenderer } from "./sandbox-render.ts";
import { createResultService } from "./sandbox-results.ts";
import { createSandboxSigner } from "./sandbox-signing.ts";
import { type SandboxParameterErrors, validateSubmitBody } from "./sandbox-submit.ts";
import { type SandboxListReading, taskListBody, taskStatusBody } from "./sandbox-task-bodies.ts";
import { createTaskStore, type SandboxTaskSummary, summarize } from "./sandbox-tasks.ts";
import { createUploadService } from "./sandbox-uploads.ts";

/** How long the simulated tasks take. */
export interface SandboxTimings {
  /** Time a task stays PENDING, in milliseconds. Default 500. */
  pendingMs?: number;
  /**
   * Time a task stays RUNNING at least, in milliseconds (it also waits for its render), fixed or per task.
   * Default 1500.
   */
  renderMs?: number | ((task: SandboxTaskSummary) => number);
}

/** Options of `startSandbox`. All optional. */
export interface SandboxOptions {
  /** Address to listen on. Loopback only (127.0.0.0/8, ::1, localhost). Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** The one API key accepted as `Authorization: Bearer …`. Default `sk-sandbox`. */
  apiKey?: string;
  /** Task durations. */
  timings?: SandboxTimings;
  /** Tasks PENDING or RUNNING at once for the account; one more submit gets 429. Default 5. */
  concurrencyLimit?: number;
  /** Submits allowed in any sliding 1 s window; one more gets 429. Default 5. */
  submitsPerSecond?: number;
  /**
   * Task queries, cancels and lists allowed together in any sliding 1 s window (they share the account's 20 QPS);
   * one more gets 429 `Throttling.RateQuota`. Default 20.
   */
  taskQueriesPerSecond?: number;
  /** Upload-policy calls allowed per model in any sliding 1 s window; one more gets 429. Default 100. */
  uploadPoliciesPerSecond?: number;
  /**
   * How long a task's record is kept after it ends (SUCCEEDED, FAILED, CANCELED), in milliseconds; then its id
   * reports UNKNOWN and the list no longer shows it. Default 24 h.
   */
  taskRetentionMs?: number;
  /**
   * A fault: age from creation after which a task reports UNKNOWN whatever its state (the service's records
   * outlive a running task). Default: none.
   */
  taskTtlMs?: number;
  /** Lifetime of a result URL from the task's end time, in milliseconds. Default 24 h. */
  resultUrlTtlMs?: number;
  /**
   * How the frame size is rounded (dashscope.md 2.4): `official`, each side floored to a multiple of 16 as the docs
   * say (default), or `measured`, to an even number as a measured render suggests.
   */
  frameRule?: WanFrameRule;
  /** Invalid `parameters`: 400 at submit (`reject`, default) or a task that ends FAILED `InvalidParameter`. */
  parameterErrors?: SandboxParameterErrors;
  /** How the list route reads what its documentation leaves open (zone, page cap, order, listing delay). */
  list?: SandboxListReading;
  /** Directory for uploads and renders. Default: a fresh directory under the OS temp dir, removed on close. */
  workDir?: string;
  /** The ffmpeg binary. Default: `locateFfmpeg().ffmpeg`. */
  ffmpegPath?: string;
  /**
   * Reuse renders: a task whose render inputs (image bytes, frame size, duration, audio, the seed's camera drift)
   * were rendered before gets that clip, kept under `workDir/renders`, instead of another ffmpeg run; identical
   * renders at once share one run. Identical inputs render identical bytes anyway, so nothing a client sees changes;
   * it keeps the emulator's ffmpeg off the cores the code under test runs on. Default true.
   */
  reuseRenders?: boolean;
  /**
   * Wall clock in epoch milliseconds, for task times, record retention, the listing delay, result-URL, upload-policy
   * and upload expiry. (Status transitions and the rate windows use real elapsed time.) Default `Date.now`.
   */
  now?: () => number;
  /**
   * Hosts (`host` or `host:port`, IPv6 in brackets) whose http(s) `img_url` the sandbox downloads, presigned URLs
   * included (the query is kept). Default: none. Loopback test servers too must be listed. Other hosts get 400
   * `InvalidParameter.DataInspection`, as an unreachable URL does.
   */
  allowImageHosts?: string[];
}

/** Counters of what the sandbox has seen since it started. */
export interface SandboxStats {
  tasksCreated: number;
  /** Submits answered 200 (or reset after creating their task). */
  submitsAccepted: number;
  /** Submits refused with 429 by the rate or concurrency limit (not counting injected faults). */
  submitsThrottled: number;
  /** Task queries, cancels and lists refused with 429 by their shared rate limit. */
  queriesThrottled: number;
  /** Upload-policy calls refused with 429 by their rate limit. */
  policiesThrottled: number;
  /** Highest number of tasks PENDING or RUNNING at once. */
  peakInFlight: number;
  /** Tasks PENDING or RUNNING now. */
  inFlight: number;
  statusQueries: number;
  /** List calls answered 200. */
  listQueries: number;
  /** Most task queries, cancels and lists admitted within any one second (the documented limit is 20). */
  peakQueriesPerSecond: number;
  /** Successful cancels. */
  cancels: number;
  /** Files stored by the upload target. */
  uploads: number;
  /** Result downloads served (200 or 206). */
  downloads: number;
}

/** A running sandbox. */
export interface SandboxHandle {
  /** Origin, e.g. `http://127.0.0.1:38211`. */
  url: string;
  /** `url + "/api/v1"`: what `DASHSCOPE_HTTP_BASE_URL` is set to. */
  baseUrl: string;
  port: number;
  apiKey: string;
  /** Fault injection (also reachable over HTTP: `POST`/`DELETE /_sandbox/faults`). */
  faults: FaultController;
  stats(): SandboxStats;
  /** Every task created (expired ones included), oldest first. */
  tasks(): ReadonlyArray<SandboxTaskSummary>;
  /** Stops the server, timers and renders; removes the default work directory. */
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_SUBMIT_BODY_BYTES = 40 * 1024 * 1024;

const numericOptionsSchema = z.object({
  port: z.int().min(0).max(65_535).default(0),
  apiKey: z.string().min(1).default("sk-sandbox"),
  concurrencyLimit: z.int().min(1).default(5),
  submitsPerSecond: z.int().min(1).default(5),
  taskQueriesPerSecond: z.int().min(1).default(20),
  uploadPoliciesPerSecond: z.int().min(1).default(100),
  taskRetentionMs: z.number().positive().default(DAY_MS),
  taskTtlMs: z.number().positive().optional(),
  resultUrlTtlMs: z.number().positive().default(DAY_MS),
  pendingMs: z.number().min(0).default(500),
});

/**
 * Models whose upload policy the sandbox issues (all of this region's image-to-video family in dashscope.md), so that
 * a file uploaded for another model can be shown to be refused by a `wan2.6-i2v-flash` submit.
 */
const UPLOAD_MODELS: ReadonlySet<string> = new Set([
  WAN_MODEL,
  "wan2.6-i2v",
  "wanx2.1-i2v-turbo",
  "wanx2.1-kf2v-plus",
]);

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  return ipaddr.isValid(bare) && ipaddr.process(bare).range() === "loopback";
}

type RouteName = FaultRoute | "faults" | "sandbox-stats";

interface Route {
  name: RouteName;
  /** The task id in `/tasks/{id}` and `/results/{id}.mp4`. */
  taskId?: string;
}

function matchRoute(method: string, pathname: string): Route | undefined {
  const taskMatch = /^\/api\/v1\/tasks\/([^/]+)(\/cancel)?$/.exec(pathname);
  const resultMatch = /^\/results\/([^/]+)\.mp4$/.exec(pathname);
  if (method === "POST" && pathname === "/api/v1/services/aigc/video-generation/video-synthesis") {
    return { name: "submit" };
  }
  if (method === "GET" && (pathname === "/api/v1/tasks" || pathname === "/api/v1/tasks/"))
    return { name: "list" };
  if (taskMatch && method === "GET" && !taskMatch[2]) return { name: "status", taskId: taskMatch[1] };
  if (taskMatch && method === "POST" && taskMatch[2]) return { name: "cancel", taskId: taskMatch[1] };
  if (method === "GET" && pathname === "/api/v1/uploads") return { name: "policy" };
  if (method === "POST" && pathname === "/oss-upload") return { name: "upload" };
  if ((method === "GET" || method === "HEAD") && resultMatch)
    return { name: "download", taskId: resultMatch[1] };
  if ((method === "POST" || method === "DELETE") && pathname === "/_sandbox/faults")
    return { name: "faults" };
  if (method === "GET" && pathname === "/_sandbox/stats") return { name: "sandbox-stats" };
  return undefined;
}

const OSS_ROUTES: ReadonlySet<RouteName> = new Set(["upload", "download"]);

async function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts a DashScope-compatible server on a loopback address: submit, task query, cancel, list, upload policy and
 * upload target, signed expiring result URLs, with the documented auth, validation, status machine, limits and
 * errors (dashscope.md), real MP4 renders made with ffmpeg, and fault injection.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host)) {
    throw new ConfigurationError(`Sandbox host must be a loopback address, got "${host}".`);
  }
  let isImageHostAllowed: (url: URL) => boolean;
  try {
    isImageHostAllowed = createImageHostRule(options.allowImageHosts ?? []);
  } catch (error) {
    throw new ConfigurationError(`Sandbox ${(error as Error).message}.`);
  }
  const settings = numericOptionsSchema.parse({ ...options, pendingMs: options.timings?.pendingMs });
  const ffmpegPath = options.ffmpegPath ?? locateFfmpeg().ffmpeg;
  if (!ffmpegPath)
    throw new ConfigurationError("Sandbox needs ffmpeg: set the ffmpegPath option or FFMPEG_PATH.");
  const now = options.now ?? Date.now;
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(path.join(tmpdir(), "dashscope-sandbox-")));

  let origin = "";
  const closing = new AbortController();
  const dispatcher = new Agent({ connections: 4 });
  const signer = createSandboxSigner();
  const counters = {
    tasksCreated: 0,
    submitsAccepted: 0,
    submitsThrottled: 0,
    queriesThrottled: 0,
    policiesThrottled: 0,
    statusQueries: 0,
    listQueries: 0,
    cancels: 0,
    uploads: 0,
    downloads: 0,
  };
  const uploads = createUploadService({ origin: () => origin, signer, now, workDir });
  const renderer = createSandboxRenderer({
    ffmpegPath,
    maxConcurrent: 2,
    reuseDirectory: options.reuseRenders === false ? undefined : path.join(workDir, "renders"),
  });
  // Late-bound: the fault state needs the result service, which needs the store, which needs the fault state.
  const faultState = createFaultState({
    onExpireResults: () => results.expire(store.list().map((task) => task.taskId)),
  });
  const store = createTaskStore({
    now,
    pendingMs: settings.pendingMs,
    renderMs: options.timings?.renderMs ?? 1500,
    taskRetentionMs: settings.taskRetentionMs,
    taskTtlMs: settings.taskTtlMs,
    frameRule: options.frameRule ?? "official",
    concurrencyLimit: settings.concurrencyLimit,
    workDir,
    renderer,
    takeTaskFailure: faultState.takeTaskFailure,
  });
  const results = createResultService({
    origin: () => origin,
    signer,
    now,
    resultUrlTtlMs: settings.resultUrlTtlMs,
    findTask: (taskId) => store.get(taskId),
  });
  const allTasks: SandboxTaskSummary[] = [];
  const submitLimiter = createRateLimiter(settings.submitsPerSecond);
  const queryLimiter = createRateLimiter(settings.taskQueriesPerSecond);
  const policyLimiter = createRateLimiter(settings.uploadPoliciesPerSecond);

  const authenticate = (request: IncomingMessage) => {
    const header = request.headers.authorization;
    if (!header) throw new SandboxApiError(401, "InvalidApiKey", "No API-key provided.");
    if (header !== `Bearer ${settings.apiKey}`) {
      throw new SandboxApiError(401, "InvalidApiKey", "Invalid API-key provided.");
    }
  };

  /** Admits a submit into the sliding one-second window, or throws the documented 429. */
  const admitSubmit = () => {
    if (submitLimiter.admit()) return;
    counters.submitsThrottled += 1;
    throw throttlingError();
  };

  /** Query, cancel and list share one window per account (dashscope.md 5). */
  const admittedQueryTimes: number[] = [];
  let peakQueriesPerSecond = 0;
  const admitTaskQuery = () => {
    if (queryLimiter.admit()) {
      const at = performance.now();
      admittedQueryTimes.push(at);
      while (admittedQueryTimes[0]! <= at - 1000) admittedQueryTimes.shift();
      peakQueriesPerSecond = Math.max(peakQueriesPerSecond, admittedQueryTimes.length);
      return;
    }
    counters.queriesThrottled += 1;
    throw throttlingError();
  };

  const handleSubmit = async (request: IncomingMessage, response: ServerResponse, fault?: ActiveFault) => {
    authenticate(request);
    if (request.headers["x-dashscope-async"] !== "enable") {
      throw new SandboxApiError(403, "AccessDenied", "current user api does not support synchronous calls.");
    }
    admitSubmit();
    const rawBody = await readBody(request, MAX_SUBMIT_BODY_BYTES);
    if (rawBody === undefined) {
      throw new SandboxApiError(
        400,
        "InvalidParameter.DataInspection",
        "The request body exceeds the size limit.",
      );
    }
    const parameterErrors = options.parameterErrors ?? "reject";
    const submit = validateSubmitBody(rawBody, { parameterErrors });
    const { sizeError, ...image } = await loadSubmittedImage(submit.imgUrl, {
      ossResolveEnabled: request.headers["x-dashscope-ossresourceresolve"] === "enable",
      readUpload: (ossUrl) => uploads.read(ossUrl, submit.model),
      isHostAllowed: isImageHostAllowed,
      dispatcher,
      sizeErrors: parameterErrors === "fail-task" ? "report" : "reject",
    });
    const requestId = randomUUID();
    const sentHeaders: Record<string, string> = {};
    for (const name of [
      "content-type",
      "x-dashscope-ossresourceresolve",
      "x-dashscope-workspace",
      "user-agent",
    ]) {
      const value = request.headers[name];
      if (typeof value === "string") sentHeaders[name] = value;
    }
    const { imgUrl: _imgUrl, parameterError, ...parameters } = submit;
    const acceptedError = parameterError ?? sizeError;
    const task = store.tryCreate({
      ...parameters,
      requestId,
      image,
      sentHeaders,
      ...(acceptedError ? { failure: { code: "InvalidParameter", message: acceptedError } } : {}),
    });
    if (!task) {
      counters.submitsThrottled += 1;
      throw throttlingError();
    }
    counters.tasksCreated += 1;
    counters.submitsAccepted += 1;
    allTasks.push(task);
    if (fault?.kind === "reset-after-create") {
      request.socket.destroy();
      return;
    }
    sendJson(
      response,
      200,
      { request_id: requestId, output: { task_id: task.taskId, task_status: "PENDING" } },
      { "x-request-id": requestId, "x-dashscope-call-gateway": "true", "x-dashscope-timeout": "180" },
    );
  };

  const handleFaults = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method === "DELETE") {
      faultState.controller.clear();
    } else {
      let command: unknown;
      try {
        command = JSON.parse((await readBody(request, 64 * 1024)) ?? "");
      } catch {
        command = undefined;
      }
      const parsed = faultCommandSchema.safeParse(command);
      if (!parsed.success) {
        throw new SandboxApiError(400, "InvalidParameter", `Invalid fault command: ${parsed.error.message}`);
      }
      faultState.controller.apply(parsed.data);
    }
    sendJson(response, 200, { request_id: randomUUID() });
  };

  const dispatch = async (
    request: IncomingMessage,
    response: ServerResponse,
    route: Route,
    url: URL,
    fault: ActiveFault | undefined,
  ) => {
    const taskId = route.taskId ?? "";
    switch (route.name) {
      case "submit":
        return handleSubmit(request, response, fault);
      case "status":
        authenticate(request);
        admitTaskQuery();
        counters.statusQueries += 1;
        return sendJson(
          response,
          200,
          taskStatusBody(taskId, store.get(taskId), results.url),
          {},
          JSON_UTF8_TYPE,
        );
      case "cancel":
        authenticate(request);
        admitTaskQuery();
        if (!store.cancel(taskId)) {
          throw new SandboxApiError(
            400,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
          );
        }
        counters.cancels += 1;
        return sendJson(response, 200, { request_id: randomUUID() }, {}, JSON_UTF8_TYPE);
      case "list": {
        authenticate(request);
        admitTaskQuery();
        const body = taskListBody(url.searchParams, store.list(), now(), options.list);
        counters.listQueries += 1;
        return sendJson(response, 200, body, {}, JSON_UTF8_TYPE);
      }
      case "policy": {
        authenticate(request);
        if (url.searchParams.get("action") !== "getPolicy") {
          throw new SandboxApiError(
            400,
            "InvalidParameter",
            "Required parameter(action) missing or invalid.",
          );
        }
        const model = url.searchParams.get("model") ?? "";
        if (!UPLOAD_MODELS.has(model)) throw new SandboxApiError(400, "InvalidParameter", "Model not exist.");
        // 100 QPS per account and model, not raisable (dashscope.md 6).
        if (!policyLimiter.admit(model)) {
          counters.policiesThrottled += 1;
          throw throttlingError();
        }
        return sendJson(response, 200, { request_id: randomUUID(), data: uploads.createPolicy(model) });
      }
      case "upload":
        if (await uploads.handleUpload(request, response)) counters.uploads += 1;
        return;
      case "download":
        if (
          await results.handle(request, response, taskId, url.searchParams, {
            resetMidway: fault?.kind === "reset-midway",
          })
        ) {
          counters.downloads += 1;
        }
        return;
      case "faults":
        return handleFaults(request, response);
      case "sandbox-stats":
        return sendJson(response, 200, { stats: stats(), tasks: tasks() });
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://sandbox.invalid");
    const route = matchRoute(request.method ?? "GET", url.pathname);
    if (!route) {
      sendApiError(response, new SandboxApiError(404, "NotFound", "The requested resource does not exist."));
      return;
    }
    const isOss = OSS_ROUTES.has(route.name);
    try {
      const fault =
        route.name === "faults" || route.name === "sandbox-stats" ? undefined : faultState.take(route.name);
      if (fault?.kind === "reset") {
        request.socket.destroy();
        return;
      }
      if (fault?.kind === "slow") await delay(fault.delayMs, undefined, { signal: closing.signal });
      if (
        fault &&
        (fault.kind === "throttle" || fault.kind === "server-error" || fault.kind === "unavailable")
      ) {
        throw faultErrors[fault.kind]();
      }
      await dispatch(request, response, route, url, fault);
    } catch (error) {
      if (closing.signal.aborted || response.headersSent || request.socket.destroyed) {
        request.socket.destroy();
        return;
      }
      const apiError =
        error instanceof SandboxApiError
          ? error
          : new SandboxApiError(
              500,
              "InternalError",
              "An internal error has occured, please try again later.",
            );
      if (isOss) sendOssError(response, apiError.httpStatus, apiError.code, apiError.message);
      else sendApiError(response, apiError, { requestIdHeader: route.name === "submit" });
    }
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;

  const stats = (): SandboxStats => ({
    ...counters,
    peakQueriesPerSecond,
    peakInFlight: store.peakInFlight(),
    inFlight: store.inFlight(),
  });
  const tasks = () => allTasks.map(summarize);

  return {
    url: origin,
    baseUrl: `${origin}/api/v1`,
    port: address.port,
    apiKey: settings.apiKey,
    faults: faultState.controller,
    stats,
    tasks,
    async close() {
      closing.abort();
      store.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
      if (ownsWorkDir) await rm(workDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
