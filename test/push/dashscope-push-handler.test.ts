import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createDashscopePushHandler,
  type TaskEndedEvent,
  type TaskOwner,
} from "../../src/push/dashscope-push-handler.ts";
import {
  createCertificateSource,
  OFFICIAL_CERTIFICATE_ORIGIN,
} from "../../src/push/eventbridge-certificates.ts";
import { createEventBridgeVerifier } from "../../src/push/eventbridge-verifier.ts";
import {
  type EventBridgeEmulatorHandle,
  startEventBridgeEmulator,
} from "../../src/sandbox/eventbridge-emulator.ts";
import { signEventBridgeDelivery } from "../../src/sandbox/eventbridge-signer.ts";
import { exactOrigin, makeTestCertificate } from "./push-test-keys.ts";

const SECRET = "push-secret-0123456789";
const TARGET = `http://stage.example/hooks/dashscope/${SECRET}`;

/** Serves the trusted certificate (the emulator with no tasks is just its certificate host). */
let trusted: EventBridgeEmulatorHandle;
/** A second host with a certificate of its own, which the receiver does not trust. */
let foreign: EventBridgeEmulatorHandle;
let trustedKey: KeyObject;
let foreignKey: KeyObject;
let certificateFetches = 0;

beforeAll(async () => {
  const trustedPair = makeTestCertificate();
  const foreignPair = makeTestCertificate();
  trustedKey = createPrivateKey(trustedPair.privateKeyPem);
  foreignKey = createPrivateKey(foreignPair.privateKeyPem);
  trusted = await startEventBridgeEmulator({ tasks: () => [], targetUrl: TARGET, keyPair: trustedPair });
  foreign = await startEventBridgeEmulator({ tasks: () => [], targetUrl: TARGET, keyPair: foreignPair });
});
afterAll(async () => {
  await trusted?.close();
  await foreign?.close();
});

const owners = new Map<string, TaskOwner>([
  ["task-ours", { generationId: "gen-ours", ended: false }],
  ["task-done", { generationId: "gen-done", ended: true }],
]);
let sent: TaskEndedEvent[] = [];
let sendFails = false;
beforeEach(() => {
  sent = [];
  sendFails = false;
});

function makeHandler() {
  return createDashscopePushHandler({
    secret: SECRET,
    verifier: createEventBridgeVerifier({
      certificates: createCertificateSource({
        trustedOrigin: exactOrigin(trusted.certificateOrigin),
        fetch: (input, init) => {
          certificateFetches += 1;
          return fetch(input, init);
        },
      }),
    }),
    findGenerationByTaskId: async (taskId) => owners.get(taskId) ?? null,
    send: async (event) => {
      if (sendFails) throw new Error("inngest unreachable");
      sent.push(event);
    },
  });
}

function body(taskId: string, status = "SUCCEEDED"): string {
  return JSON.stringify({
    id: "e1",
    source: "acs.dashscope",
    specversion: "1.0",
    type: "dashscope:System:AsyncTaskFinish",
    data: { task_id: taskId, task_status: status, contain_result: false },
  });
}

function delivery(options: {
  taskId?: string;
  url?: string;
  signedUrl?: string;
  key?: KeyObject;
  certificateUrl?: string;
  timestampMs?: number;
  body?: string;
  tamper?: (body: string) => string;
}): Request {
  const raw = options.body ?? body(options.taskId ?? "task-ours");
  const headers = signEventBridgeDelivery({
    url: options.signedUrl ?? options.url ?? TARGET,
    body: raw,
    privateKey: options.key ?? trustedKey,
    certificateUrl: options.certificateUrl ?? trusted.certificateUrl,
    timestampMs: options.timestampMs ?? Date.now(),
  });
  return new Request(options.url ?? TARGET, {
    method: "POST",
    headers,
    body: options.tamper ? options.tamper(raw) : raw,
  });
}

describe("the DashScope push route", () => {
  it("turns a signed delivery of our task into one task-ended event with a stable id, and answers fast", async () => {
    const handler = makeHandler();
    const started = performance.now();
    const response = await handler(delivery({}));
    expect(response.status).toBe(204);
    expect(sent).toEqual([
      {
        id: "task-ended-task-ours",
        name: "video/generation.task-ended",
        data: { generation_id: "gen-ours", task_id: "task-ours", task_status: "SUCCEEDED", source: "push" },
      },
    ]);
    // A duplicate delivery sends the same id, which Inngest keeps once.
    expect((await handler(delivery({}))).status).toBe(204);
    expect(sent.map((event) => event.id)).toEqual(["task-ended-task-ours", "task-ended-task-ours"]);
    // The certificate was fetched once and cached; the second delivery cost no outbound request.
    const fetchesBefore = certificateFetches;
    const again = performance.now();
    expect((await handler(delivery({}))).status).toBe(204);
    expect(certificateFetches).toBe(fetchesBefore);
    expect(performance.now() - again).toBeLessThan(50);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("ignores a task of another client and a generation already ended (200, no event)", async () => {
    const handler = makeHandler();
    const unknown = await handler(delivery({ taskId: "task-of-someone-else" }));
    expect(unknown.status).toBe(200);
    const ended = await handler(delivery({ taskId: "task-done" }));
    expect(ended.status).toBe(200);
    expect(sent).toEqual([]);
  });

  it.each([
    [
      "a wrong secret",
      () => delivery({ url: "http://stage.example/hooks/dashscope/wrong-secret-0123456789" }),
    ],
    ["no secret", () => delivery({ url: "http://stage.example/hooks/dashscope/" })],
    ["a tampered body", () => delivery({ tamper: (raw) => raw.replace("SUCCEEDED", "FAILED") })],
    [
      "a signature of another key",
      () => delivery({ key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey }),
    ],
    [
      "a certificate from a foreign host",
      () => delivery({ key: foreignKey, certificateUrl: foreign.certificateUrl }),
    ],
    ["a stale timestamp", () => delivery({ timestampMs: Date.now() - 61_000 })],
    ["a timestamp from the future", () => delivery({ timestampMs: Date.now() + 61_000 })],
    [
      "a signature for another URL",
      () => delivery({ signedUrl: "http://stage.example/hooks/dashscope/other" }),
    ],
    [
      "no signature",
      () => {
        const request = delivery({});
        const headers = new Headers(request.headers);
        headers.delete("x-eventbridge-signature-v2");
        return new Request(TARGET, { method: "POST", headers, body: body("task-ours") });
      },
    ],
  ])("refuses %s with 401 and sends nothing", async (_name, make) => {
    const fetchesBefore = certificateFetches;
    const response = await makeHandler()(make());
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(SECRET);
    expect(sent).toEqual([]);
    // A foreign certificate URL is refused before any request is made to it.
    if (_name === "a certificate from a foreign host") expect(certificateFetches).toBe(fetchesBefore);
  });

  it("accepts the https form of the URL (EventBridge calls https; a TLS proxy forwards http)", async () => {
    const response = await makeHandler()(
      delivery({ signedUrl: `https://stage.example/hooks/dashscope/${SECRET}` }),
    );
    expect(response.status).toBe(204);
    expect(sent).toHaveLength(1);
  });

  it("answers 500 when the event cannot be sent, so EventBridge retries", async () => {
    sendFails = true;
    expect((await makeHandler()(delivery({}))).status).toBe(500);
  });

  it("answers 400 to a signed body that is not a task-finish event, and 405 to a GET", async () => {
    const handler = makeHandler();
    expect((await handler(delivery({ body: '{"type":"x"}' }))).status).toBe(400);
    expect((await handler(new Request(TARGET))).status).toBe(405);
    expect(sent).toEqual([]);
  });
});

describe("the official certificate origin", () => {
  it.each([
    ["https://cn-beijing-eventbridge.oss-accelerate.aliyuncs.com", true],
    ["https://ap-southeast-1-eventbridge.oss-accelerate.aliyuncs.com", true],
    ["http://cn-beijing-eventbridge.oss-accelerate.aliyuncs.com", false],
    ["https://cn-beijing-eventbridge.oss-accelerate.aliyuncs.com.evil.example", false],
    ["https://evil.example", false],
    ["https://cn-beijing-eventbridge.oss-accelerate.aliyuncs.com:8443", false],
  ])("%s → %s", (origin, trustedOrigin) => {
    expect(OFFICIAL_CERTIFICATE_ORIGIN.test(new URL(origin).origin)).toBe(trustedOrigin);
  });

  it("refuses a URL with user info before fetching", async () => {
    let fetched = 0;
    const source = createCertificateSource({
      fetch: async () => {
        fetched += 1;
        return new Response("x");
      },
    });
    expect(
      await source.publicKey(
        "https://a@cn-beijing-eventbridge.oss-accelerate.aliyuncs.com/x509_public_certificate_x.pem",
      ),
    ).toBeNull();
    expect(fetched).toBe(0);
  });
});
