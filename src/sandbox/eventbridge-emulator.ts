import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ASYNC_TASK_FINISH } from "../push/task-finish-delivery.ts";
import { signEventBridgeDelivery } from "./eventbridge-signer.ts";
import type { SandboxTaskSummary } from "./sandbox-tasks.ts";

/** Options of {@link startEventBridgeEmulator}. */
export interface EventBridgeEmulatorOptions {
  /** The sandbox's tasks (`SandboxHandle.tasks`); each task seen ended is pushed once (plus duplicates). */
  tasks: () => ReadonlyArray<SandboxTaskSummary>;
  /**
   * Where pushes go: the receiver's full URL, e.g. `http://127.0.0.1:3000/hooks/dashscope/<secret>`; a function when
   * the receiver starts after the emulator (it must trust the emulator's certificate origin).
   */
  targetUrl: string | (() => string);
  /** Time from a task's end to its push, ms. Default 500. */
  delayMs?: number;
  /** Share of pushes dropped, 0..1. Default 0. */
  lossRate?: number;
  /** Extra copies of each push, sent `duplicateGapMs` apart. Default 0. */
  duplicates?: number;
  /** Gap between a push and its duplicates, ms. Default 200. */
  duplicateGapMs?: number;
  /** Retries after a non-2xx answer or a network error (EventBridge's default backoff policy: 3). Default 3. */
  retries?: number;
  /** Delay before each retry, ms (EventBridge: 10-20 s). Default 10 000. */
  retryDelayMs?: number;
  /**
   * The signing key and its PEM X.509 certificate (a test can make them with `openssl req -x509`). Default: a fresh
   * RSA key pair, whose public key is served as PEM in place of a certificate (node:crypto cannot issue one).
   */
  keyPair?: { privateKeyPem: string; certificatePem: string };
  /** Region in the CloudEvent. Default `cn-beijing`. */
  region?: string;
  /** How often the task list is read for endings, ms. Default 50. */
  watchIntervalMs?: number;
  /** Random numbers in [0, 1) for the loss draw (tests). Default `Math.random`. */
  random?: () => number;
  /** Signing clock, epoch ms (a test can sign in the past). Default `Date.now`. */
  now?: () => number;
}

/** Counts of what the emulator did. */
export interface EventBridgeEmulatorStats {
  /** Task endings seen. */
  ended: number;
  /** Pushes dropped by the loss rate. */
  lost: number;
  /** HTTP requests made (duplicates and retries included). */
  requests: number;
  /** Answers by status code (0: network error). */
  answers: Record<string, number>;
}

export interface EventBridgeEmulatorHandle {
  /** The origin serving the certificate (a receiver must trust it in place of the official hosts). */
  certificateOrigin: string;
  /** `x-eventbridge-signature-url` of every push. */
  certificateUrl: string;
  stats(): EventBridgeEmulatorStats;
  /** The headers of a push of `body` signed at `timestampMs` (tests build stale or altered deliveries with it). */
  sign(body: string, timestampMs: number): Headers;
  close(): Promise<void>;
}

/**
 * The EventBridge side of DashScope's completion push, for the sandbox: it watches the sandbox's tasks and, for each
 * that ends, POSTs a signed "full event" `dashscope:System:AsyncTaskFinish` to the target after a delay, with
 * configurable loss, duplicates and retries. It also serves its certificate over HTTP (EventBridge's is on an
 * official https host; a receiver under test is told to trust this origin instead).
 */
export async function startEventBridgeEmulator(
  options: EventBridgeEmulatorOptions,
): Promise<EventBridgeEmulatorHandle> {
  const delayMs = options.delayMs ?? 500;
  const lossRate = options.lossRate ?? 0;
  const duplicates = options.duplicates ?? 0;
  const duplicateGapMs = options.duplicateGapMs ?? 200;
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const region = options.region ?? "cn-beijing";
  const { privateKey, certificate } = keyMaterial(options.keyPair);
  const certificatePath = "/x509_public_certificate_emulator.pem";

  const server = http.createServer((request, response) => {
    if (request.method === "GET" && request.url === certificatePath) {
      response.writeHead(200, { "content-type": "application/x-pem-file" });
      response.end(certificate);
      return;
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const certificateOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const certificateUrl = `${certificateOrigin}${certificatePath}`;

  const stats: EventBridgeEmulatorStats = { ended: 0, lost: 0, requests: 0, answers: {} };
  const seen = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const after = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, ms);
    timers.add(timer);
  };

  const deliver = async (body: string, attempt: number) => {
    stats.requests += 1;
    const targetUrl = typeof options.targetUrl === "function" ? options.targetUrl() : options.targetUrl;
    let status = 0;
    try {
      const headers = signEventBridgeDelivery({
        url: targetUrl,
        body,
        privateKey,
        certificateUrl,
        timestampMs: now(),
      });
      const response = await fetch(targetUrl, { method: "POST", headers, body });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 0;
    }
    stats.answers[status] = (stats.answers[status] ?? 0) + 1;
    if ((status < 200 || status > 299) && attempt < retries)
      after(retryDelayMs, () => void deliver(body, attempt + 1));
  };

  const watch = setInterval(() => {
    for (const task of options.tasks()) {
      if (task.endTime === undefined || seen.has(task.taskId)) continue;
      seen.add(task.taskId);
      stats.ended += 1;
      if (random() < lossRate) {
        stats.lost += 1;
        continue;
      }
      const body = JSON.stringify(taskFinishEvent(task, region));
      for (let copy = 0; copy <= duplicates; copy += 1) {
        after(delayMs + copy * duplicateGapMs, () => void deliver(body, 0));
      }
    }
  }, options.watchIntervalMs ?? 50);

  return {
    certificateOrigin,
    certificateUrl,
    stats: () => ({ ...stats, answers: { ...stats.answers } }),
    sign: (body, timestampMs) =>
      signEventBridgeDelivery({
        url: typeof options.targetUrl === "function" ? options.targetUrl() : options.targetUrl,
        body,
        privateKey,
        certificateUrl,
        timestampMs,
      }),
    async close() {
      closed = true;
      clearInterval(watch);
      for (const timer of timers) clearTimeout(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A "full event" delivery as documented (docs/push.md): a CloudEvents envelope, the task in `data`. */
export function taskFinishEvent(task: SandboxTaskSummary, region: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    source: "acs.dashscope",
    specversion: "1.0",
    type: ASYNC_TASK_FINISH,
    datacontenttype: "application/json;charset=utf-8",
    subject: `acs:dashscope:${region}:emulator:task/${task.taskId}`,
    time: new Date(task.endTime ?? Date.now()).toISOString(),
    aliyunaccountid: "emulator",
    aliyunpublishtime: new Date().toISOString(),
    aliyuneventbusname: "default",
    aliyunregionid: region,
    data: {
      task_id: task.taskId,
      task_status: task.status,
      start_time: task.scheduledTime ?? task.submitTime,
      end_time: task.endTime,
      region,
      request_id: randomUUID(),
      api_key_id: "emulator",
      user_api_unique_key: `apikey:v1:aigc:video-generation:video-synthesis:${task.model}`,
      contain_result: false,
    },
  };
}

function keyMaterial(keyPair: EventBridgeEmulatorOptions["keyPair"]): {
  privateKey: KeyObject;
  certificate: string;
} {
  if (keyPair)
    return { privateKey: createPrivateKey(keyPair.privateKeyPem), certificate: keyPair.certificatePem };
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certificate = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return { privateKey, certificate };
}
